import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { STREAM_SEARCH_ATTRIBUTE } from '../contracts/ingestion.js';
import { spawnSupervised, type LineSink, type SupervisedChild } from './child-process.js';
import { devServerPidFile, stopLeftover } from './orphans.js';
import { waitUntil } from './wait.js';

/** The newest CLI tag whose go.mod has no `replace` directive, so `go install …@version` accepts it. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export class TemporalCliUnavailable extends Error {
  override name = 'TemporalCliUnavailable';
}

/**
 * The `temporal` CLI: TEMPORAL_CLI, then `temporal` on PATH, then the project-local copy, else built
 * with `go install` into the tools folder (a few minutes, once).
 */
export async function resolveTemporalCli(options: { explicit?: string; toolsDir: string; sink: LineSink }): Promise<string> {
  const { explicit, toolsDir, sink } = options;
  if (explicit) {
    if (!isExecutable(explicit)) throw new TemporalCliUnavailable(`TEMPORAL_CLI=${explicit} is not an executable file`);
    return explicit;
  }
  const local = path.join(toolsDir, 'bin', 'temporal');
  const found = onPath('temporal') ?? (isExecutable(local) ? local : undefined);
  if (found) return found;

  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    throw new TemporalCliUnavailable(
      'the Temporal CLI was not found and Go is not installed to build it. Either install Go (https://go.dev/dl) and run again, ' +
        'put a `temporal` binary on PATH or in TEMPORAL_CLI (https://docs.temporal.io/cli#install), ' +
        'or point TEMPORAL_ADDRESS at a running Temporal server.',
    );
  }
  mkdirSync(path.join(toolsDir, 'bin'), { recursive: true });
  sink(`building the Temporal CLI once with \`go install ${TEMPORAL_CLI_MODULE}\` (takes a few minutes; cached in ${toolsDir})`);
  const started = Date.now();
  const build = spawn(go, ['install', '-v', TEMPORAL_CLI_MODULE], {
    env: { ...process.env, GOBIN: path.join(toolsDir, 'bin'), GOFLAGS: process.env.GOFLAGS ?? '-mod=mod' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let packages = 0;
  let lastLines: string[] = [];
  const progress = setInterval(
    () => sink(`  … still building the Temporal CLI: ${Math.round((Date.now() - started) / 1000)} s, ${packages} packages so far`),
    15_000,
  );
  const onOutput = (chunk: Buffer) => {
    const lines = chunk.toString().split('\n').filter(Boolean);
    packages += lines.filter((line) => !line.startsWith('go: ')).length;
    lastLines = [...lastLines, ...lines].slice(-20);
  };
  build.stdout.on('data', onOutput);
  build.stderr.on('data', onOutput);
  const code = await new Promise<number | null>((resolve) => build.once('exit', resolve));
  clearInterval(progress);
  if (code !== 0 || !isExecutable(local)) {
    throw new TemporalCliUnavailable(`building the Temporal CLI failed (exit ${code}):\n${lastLines.join('\n')}`);
  }
  sink(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${local}`);
  return local;
}

export interface DevServerOptions {
  readonly cli: string;
  readonly port: number;
  /** Serve the Web UI on this port; omit for a headless server (tests). */
  readonly uiPort?: number;
  /** Persist workflows in this SQLite file; omit for an in-memory server (tests). */
  readonly dbFile?: string;
  readonly namespace: string;
  readonly sink: LineSink;
  /** Server dynamic configuration, e.g. a low continue-as-new threshold so tests exercise it. */
  readonly dynamicConfig?: Record<string, string | number>;
}

export interface TemporalDevServer {
  readonly address: string;
  readonly child: SupervisedChild;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(options: DevServerOptions): Promise<TemporalDevServer> {
  const { cli, port, uiPort, dbFile, namespace, sink } = options;
  if (dbFile) mkdirSync(path.dirname(dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    ...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']),
    '--namespace',
    namespace,
    '--log-format',
    'pretty',
    '--log-level',
    'error',
    ...(dbFile ? ['--db-filename', dbFile] : []),
    // Lets `temporal workflow list --query "RestaurantStream='brand_a'"` and the Web UI find a stream's workflow.
    '--search-attribute',
    `${STREAM_SEARCH_ATTRIBUTE}=Keyword`,
    ...Object.entries(options.dynamicConfig ?? {}).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${value}`]),
  ];
  const pidFile = dbFile ? devServerPidFile(dbFile) : undefined;
  if (pidFile) await stopLeftover(pidFile, cli, 'SIGTERM', sink);
  const child = spawnSupervised('temporal', cli, args, { sink });
  if (pidFile && child.process.pid) writeFileSync(pidFile, `${child.process.pid}\n`);
  const address = `127.0.0.1:${port}`;
  await waitUntil(`the Temporal dev server answers on ${address}`, 60_000, async () => {
    if (child.process.exitCode !== null) throw new Error(`temporal server exited with code ${child.process.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return true;
      } finally {
        await connection.close();
      }
    } catch {
      return false;
    }
  });
  return { address, child, stop: async () => void (await child.stop('SIGTERM', 15_000)) };
}
