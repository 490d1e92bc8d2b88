import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { STREAM_SEARCH_ATTRIBUTE } from '../contracts/ingestion.js';
import { spawnSupervised, type LineSink, type SupervisedChild } from './child-process.js';
import { goInstall, isExecutable, onPath } from './go-tools.js';
import { devServerPidFile, stopLeftover } from './orphans.js';
import { waitUntil } from './wait.js';

/** The newest CLI tag whose go.mod has no `replace` directive, so `go install …@version` accepts it. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

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
  await goInstall({
    what: 'the Temporal CLI',
    modules: [TEMPORAL_CLI_MODULE],
    binDir: path.join(toolsDir, 'bin'),
    toolsDir,
    sink,
    missingGo:
      'the Temporal CLI was not found and Go is not installed to build it. Either install Go (https://go.dev/dl) and run again, ' +
      'put a `temporal` binary on PATH or in TEMPORAL_CLI (https://docs.temporal.io/cli#install), ' +
      'or point TEMPORAL_ADDRESS at a running Temporal server.',
  });
  if (!isExecutable(local)) throw new TemporalCliUnavailable(`building the Temporal CLI left no ${local}`);
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
  readonly stop: () => Promise<void>;
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
