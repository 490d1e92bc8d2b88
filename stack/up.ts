import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { projectRoot, type StackConfig } from '../config/env.js';
import { ensureMaintenanceSchedule } from '../clients/maintenance-schedule.js';
import { connectTemporalClient } from '../clients/temporal.js';
import { loadStreamsFile, singleFeed, streamsFilePath } from '../config/streams.js';
import { temporalTarget } from '../config/temporal.js';
import { readCheckpoint } from '../warehouse/checkpoints.js';
import { createWarehouseDb } from '../warehouse/connect.js';
import { prefixedSink, spawnSupervised, type LineSink, type SupervisedChild } from './child-process.js';
import { COMPONENT_NODE_FLAGS, componentEnvironment } from './node-flags.js';
import { clearRuntimeState, writeRuntimeState } from './runtime-state.js';
import { resolveTemporalCli, startTemporalDevServer } from './temporal-server.js';
import { waitUntil } from './wait.js';
import { reconcileStreams } from './streams-reconcile.js';
import { startWarehouse } from './warehouse.js';

const CLI = path.join(projectRoot, 'bin', 'restaurant-stack.js');

interface Component {
  readonly name: string;
  stop(): Promise<void>;
}

/**
 * Keeps one of our own Node components (event API, worker) running: it is restarted with backoff when
 * it dies on its own, and stopped with SIGTERM (then SIGKILL after `graceMs`) when the stack stops.
 */
function superviseNodeComponent(name: keyof typeof COMPONENT_NODE_FLAGS, args: string[], env: NodeJS.ProcessEnv, sink: LineSink, graceMs: number): Component {
  let current: SupervisedChild | undefined;
  let stopping = false;
  let backoffMs = 1_000;
  const loop = (async () => {
    while (!stopping) {
      const startedAt = Date.now();
      current = spawnSupervised(name, process.execPath, [...COMPONENT_NODE_FLAGS[name], CLI, ...args], {
        sink,
        env: { ...process.env, ...componentEnvironment(name), ...env, RESTAURANT_STACK_SUPERVISED: '1' },
        // stdin stays open as a lifeline: the component stops when `up` dies and the pipe closes.
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const outcome = await current.exited;
      if (stopping) break;
      if (Date.now() - startedAt > 60_000) backoffMs = 1_000;
      sink(`exited unexpectedly (${outcome}); restarting in ${backoffMs / 1000} s`);
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  })();
  return {
    name,
    async stop() {
      stopping = true;
      await current?.stop('SIGTERM', graceMs);
      await loop;
    },
  };
}

/** `restaurant-stack up`: every part of the stack, embedded where the environment names no external one. */
export async function runStack(config: StackConfig): Promise<void> {
  const stackSink = prefixedSink('stack', 1);
  const components: Component[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (reason: string) => {
    stopping ??= (async () => {
      stackSink(`stopping (${reason}) …`);
      for (const component of [...components].reverse()) {
        await component.stop().catch((error: Error) => stackSink(`${component.name} did not stop cleanly: ${error.message}`));
      }
      clearRuntimeState(config.DATA_DIR);
      stackSink('stopped; nothing left running');
    })();
    return stopping;
  };
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts += 1;
    if (interrupts > 1) {
      stackSink(`second ${signal}: exiting without waiting`);
      process.exit(130);
    }
    void stopAll(signal).then(() => process.exit(0));
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  // A bad streams file stops `up` before anything starts.
  const streamsFile = streamsFilePath(config);
  const fileStreams = streamsFile ? loadStreamsFile(streamsFile, config) : undefined;

  try {
    stackSink('starting PostgreSQL and migrating the warehouse …');
    const warehouse = await startWarehouse(config, { postgres: prefixedSink('postgres', 34), migrate: prefixedSink('migrate', 35) });
    if (warehouse.embedded) components.push({ name: 'postgres', stop: warehouse.embedded.stop });

    let temporalAddress = config.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const cli = await resolveTemporalCli({ explicit: config.TEMPORAL_CLI, toolsDir: config.TOOLS_DIR, sink: stackSink });
      stackSink('starting the Temporal dev server …');
      const server = await startTemporalDevServer({
        cli,
        port: config.TEMPORAL_PORT,
        uiPort: config.TEMPORAL_UI_PORT,
        dbFile: path.join(config.DATA_DIR, 'temporal', 'dev-server.sqlite'),
        namespace: config.TEMPORAL_NAMESPACE,
        sink: prefixedSink('temporal', 36),
      });
      components.push({ name: 'temporal', stop: server.stop });
      temporalAddress = server.address;
    }

    let apiUrl = config.RESTAURANT_API_URL;
    if (!apiUrl) {
      apiUrl = `http://127.0.0.1:${config.API_PORT}`;
      const args = ['api', '--port', String(config.API_PORT), '--rate', String(config.API_RATE)];
      if (config.API_SEED) args.push('--seed', config.API_SEED);
      components.push(superviseNodeComponent('api', args, {}, prefixedSink('api', 32), 5_000));
      const healthUrl = `${apiUrl}/health`;
      await waitUntil(`the event API answers on ${healthUrl}`, 60_000, async () => {
        try {
          return (await fetch(healthUrl)).ok;
        } catch {
          return false;
        }
      });
    }

    const workerEnv = { DATABASE_URL: warehouse.etlUrl, TEMPORAL_ADDRESS: temporalAddress, RESTAURANT_API_URL: apiUrl };
    const workerGraceMs = (config.WORKER_SHUTDOWN_GRACE_SECONDS + 5) * 1_000;
    components.push(superviseNodeComponent('worker', ['worker'], workerEnv, prefixedSink('worker', 33), workerGraceMs));

    writeRuntimeState(config.DATA_DIR, {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      databaseUrl: warehouse.adminUrl,
      temporalAddress,
      apiUrl,
    });

    const client = await connectTemporalClient(temporalTarget(config, temporalAddress));
    try {
      const streams = fileStreams ?? singleFeed(config, apiUrl);
      if (streamsFile) stackSink(`streams from ${streamsFile}: ${streams.map((stream) => stream.name).join(', ')}`);
      const db = createWarehouseDb(warehouse.adminUrl, { maxConnections: 1 });
      try {
        await reconcileStreams(client, config, streams, stackSink, (stream) => readCheckpoint(db, stream));
      } finally {
        await db.destroy();
      }
      const schedule = await ensureMaintenanceSchedule(client, config);
      stackSink(`${schedule.created ? 'created' : 'updated'} maintenance schedule ${schedule.scheduleId} (every ${config.MAINTENANCE_INTERVAL_MINUTES} min)`);
    } finally {
      await client.connection.close();
    }

    const webUi = config.TEMPORAL_ADDRESS ? '(external Temporal: see its own Web UI)' : `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`;
    stackSink('the stack is up:');
    stackSink(`  event API        ${apiUrl}  (health: ${apiUrl}/health)`);
    stackSink(`  Temporal         ${temporalAddress}   Web UI ${webUi}`);
    stackSink(`  warehouse        ${redact(warehouse.adminUrl)}`);
    if (config.METRICS_PORT) stackSink(`  worker metrics   http://127.0.0.1:${config.METRICS_PORT}/metrics`);
    stackSink('  ingestion status `npx restaurant-stack ingest status`; Ctrl-C stops everything');
  } catch (error) {
    stackSink(`start-up failed: ${error instanceof Error ? error.message : String(error)}`);
    await stopAll('start-up failed');
    throw error;
  }
  await new Promise<never>(() => undefined);
}

function redact(connectionString: string): string {
  const url = new URL(connectionString);
  if (url.password) url.password = '***';
  return url.toString();
}
