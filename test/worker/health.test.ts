import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findFreePort } from '../../stack/ports.js';
import { createLogger } from '../../telemetry/logger.js';
import { startWorkerHttp, type WorkerHttp } from '../../worker/health.js';

/* The worker's /livez, /readyz and /metrics (worker/health.ts); a real worker's is exercised in test/deploy/compose-topology.test.ts. */

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Stands in for the SDK's Prometheus exporter. */
async function fakeExporter(): Promise<string> {
  const server = http.createServer((_, response) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('temporal_worker_start_total 1\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function start(sdkMetricsAddress: string): Promise<{ http: WorkerHttp; get: (path: string) => Promise<{ status: number; text: string }> }> {
  const workerHttp = await startWorkerHttp({ host: '127.0.0.1', port: 0, sdkMetricsAddress, logger: createLogger('test', 'error') });
  closers.push(() => workerHttp.close());
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${workerHttp.port}${path}`);
    return { status: response.status, text: await response.text() };
  };
  return { http: workerHttp, get };
}

describe('the worker’s HTTP port', () => {
  it('is live at once, and ready only when every probe passes, naming those that do not', async () => {
    const { http: workerHttp, get } = await start(await fakeExporter());
    expect(await get('/livez')).toEqual({ status: 200, text: '{"live":true}\n' });
    // Before the worker is built there is nothing to be ready.
    expect(JSON.parse((await get('/readyz')).text)).toEqual({ ready: false, checks: {}, notReady: ['worker'] });

    workerHttp.setReadinessProbes({ temporal: () => true, postgres: async () => true, worker: () => true });
    expect(await get('/readyz')).toEqual({ status: 200, text: '{"ready":true,"checks":{"temporal":true,"postgres":true,"worker":true}}\n' });

    workerHttp.setReadinessProbes({
      temporal: async () => {
        throw new Error('connection refused');
      },
      // A probe that never answers counts as failed after its 2 s bound.
      postgres: () => new Promise<boolean>(() => undefined),
      worker: () => true,
    });
    const notReady = await get('/readyz');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.text)).toEqual({ ready: false, checks: { temporal: false, postgres: false, worker: true }, notReady: ['temporal', 'postgres'] });
    expect((await get('/livez')).status).toBe(200);
  });

  it('passes /metrics through from the SDK’s exporter, and says so when that does not answer', async () => {
    const { get } = await start(await fakeExporter());
    expect(await get('/metrics')).toEqual({ status: 200, text: 'temporal_worker_start_total 1\n' });

    const silent = await start(`127.0.0.1:${await findFreePort()}`);
    const failed = await silent.get('/metrics');
    expect(failed.status).toBe(502);
    expect(failed.text).toContain('the SDK metrics exporter did not answer');
    expect((await get('/nowhere')).status).toBe(404);
  });

  it('names the variables when its port is taken', async () => {
    const { http: first } = await start(await fakeExporter());
    await expect(startWorkerHttp({ host: '127.0.0.1', port: first.port, sdkMetricsAddress: '127.0.0.1:1', logger: createLogger('test', 'error') })).rejects.toThrow(
      `the worker's HTTP port 127.0.0.1:${first.port} (METRICS_HOST, METRICS_PORT): already in use`,
    );
  });
});
