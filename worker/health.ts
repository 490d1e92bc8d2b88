import http from 'node:http';
import type { Logger } from '../telemetry/logger.js';

/** One readiness condition, e.g. "temporal": resolves true when met; a throw or a timeout counts as not met. */
export type ReadinessProbe = () => Promise<boolean> | boolean;

export interface WorkerHttpOptions {
  readonly host: string;
  readonly port: number;
  /** The Temporal SDK's own Prometheus exporter, bound to a private port; /metrics is passed through to it. */
  readonly sdkMetricsAddress: string;
  readonly logger: Logger;
}

export interface WorkerHttp {
  readonly port: number;
  /** Sets (or replaces) the probes /readyz checks; until the worker is built there are none and it is not ready. */
  setReadinessProbes(probes: Record<string, ReadinessProbe>): void;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 2_000;

async function probe(check: ReadinessProbe): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS)));
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The worker's one HTTP port (METRICS_HOST:METRICS_PORT) for orchestrators and Prometheus:
 * `/livez` (the process answers), `/readyz` (connected to Temporal and PostgreSQL and the worker
 * running: 200, else 503 naming what is not), and `/metrics` (the SDK's exporter, passed through).
 */
export async function startWorkerHttp(options: WorkerHttpOptions): Promise<WorkerHttp> {
  let probes: Record<string, ReadinessProbe> = {};
  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://worker');
    if (request.method !== 'GET' && request.method !== 'HEAD') return json(response, 405, { error: 'only GET' });
    if (url.pathname === '/livez') return json(response, 200, { live: true });
    if (url.pathname === '/readyz') {
      void (async () => {
        const names = Object.keys(probes);
        const results = await Promise.all(names.map(async (name) => [name, await probe(probes[name]!)] as const));
        const checks = Object.fromEntries(results);
        const notReady = names.length === 0 ? ['worker'] : results.filter(([, ok]) => !ok).map(([name]) => name);
        json(response, notReady.length === 0 ? 200 : 503, { ready: notReady.length === 0, checks, ...(notReady.length ? { notReady } : {}) });
      })();
      return;
    }
    if (url.pathname === '/metrics') {
      fetch(`http://${options.sdkMetricsAddress}/metrics`)
        .then(async (upstream) => {
          response.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain; version=0.0.4' });
          response.end(await upstream.text());
        })
        .catch((error: unknown) => json(response, 502, { error: `the SDK metrics exporter did not answer: ${error instanceof Error ? error.message : String(error)}` }));
      return;
    }
    json(response, 404, { error: 'not found: /livez, /readyz and /metrics are served here' });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(`the worker's HTTP port ${options.host}:${options.port} (METRICS_HOST, METRICS_PORT): ${error.code === 'EADDRINUSE' ? 'already in use' : error.message}`)),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  options.logger.info('serving /livez, /readyz and /metrics', { host: options.host, port });
  return {
    port,
    setReadinessProbes(next) {
      probes = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
