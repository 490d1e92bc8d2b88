import { setTimeout as sleep } from 'node:timers/promises';
import { generateEvents } from '../generator-api/index.js';
import { waitUntil } from '../stack/wait.js';
import type { BenchEnvironment, BenchWarehouse } from './environment.js';
import { steadyRate } from './pacing.js';
import { Pipeline } from './pipeline.js';
import type { ApiSpec } from './processes.js';
import { parseEnvelopes } from './warehouse-rows.js';

export interface RecoveryOptions {
  readonly eventsPerSecond: number;
  readonly beforeKillSeconds: number;
  readonly afterKillSeconds: number;
}

export interface RecoveryResult {
  /** SIGKILL → the checkpoint moves again, with a replacement worker started at once. */
  readonly seconds: number;
  /** Source events missing from the warehouse (raw rows, and fact rows they imply). */
  readonly lost: number;
  /** Rows beyond one per source event (raw rows, and fact rows). */
  readonly duplicated: number;
  /** SIGKILL → the replacement worker polls its task queue. */
  readonly replacementReadySeconds: number;
  readonly committedAtKill: number;
  readonly sourceEvents: number;
  /** SIGKILL → every source event committed. */
  readonly caughtUpSeconds: number;
}

const SEED = 'bench-recovery';
const STREAM = 'bench_recovery';
const FACT_TABLES = {
  order_created: 'analytics.orders',
  order_item_added: 'analytics.order_items',
  payment_captured: 'analytics.payments',
  feedback_submitted: 'analytics.feedback',
} as const;

/** Backends of the worker's connections to this database: gone once PostgreSQL has seen the process die. */
async function workerBackends(warehouse: BenchWarehouse): Promise<number[]> {
  const { rows } = await warehouse.pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'restaurant-worker'`,
  );
  return rows.map((row) => row.pid);
}

/**
 * Lost and doubled against the source's ground truth (the same seed and options, generated here):
 * every event_id exactly once in events_raw, and each fact table holding exactly one row per event
 * of its type.
 */
async function compareWithSource(warehouse: BenchWarehouse, source: ApiSpec & { maxEvents: number }): Promise<{ lost: number; duplicated: number }> {
  const truth = parseEnvelopes(generateEvents({ ...source, seed: SEED }, source.maxEvents));
  const { rows } = await warehouse.pool.query<{ missing: string; extra: string }>(
    `WITH truth AS (SELECT unnest($1::uuid[]) AS event_id)
     SELECT (SELECT count(*) FROM truth t WHERE NOT EXISTS (SELECT 1 FROM raw_data.events_raw r WHERE r.event_id = t.event_id)) AS missing,
            (SELECT count(*) FROM raw_data.events_raw) - (SELECT count(*) FROM truth t WHERE EXISTS (SELECT 1 FROM raw_data.events_raw r WHERE r.event_id = t.event_id)) AS extra`,
    [truth.map((event) => event.event_id)],
  );
  let lost = Number(rows[0]?.missing ?? 0);
  let duplicated = Number(rows[0]?.extra ?? 0);
  for (const [type, table] of Object.entries(FACT_TABLES)) {
    const expected = truth.filter((event) => event.event_type === type).length;
    const { rows: counted } = await warehouse.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    const actual = Number(counted[0]?.n ?? 0);
    lost += Math.max(0, expected - actual);
    duplicated += Math.max(0, actual - expected);
  }
  return { lost, duplicated };
}

/**
 * A worker SIGKILLed under load while the source keeps producing: a replacement starts at once (as a
 * supervisor would restart it); how long until the checkpoint moves again, and, once the source's
 * bounded run is all in, whether anything was lost or written twice.
 */
export async function measureRecovery(env: BenchEnvironment, options: RecoveryOptions): Promise<RecoveryResult> {
  const sourceEvents = options.eventsPerSecond * (options.beforeKillSeconds + options.afterKillSeconds);
  const source = { seed: SEED, maxEvents: sourceEvents, ...steadyRate(options.eventsPerSecond) };
  const warehouse = await env.createWarehouse('recovery');
  try {
    const pipeline = await Pipeline.start(env, { warehouse, stream: STREAM, api: source });
    let timings: { seconds: number; replacementReadySeconds: number; committedAtKill: number; caughtUpSeconds: number };
    try {
      await pipeline.waitForOffset(1, 120_000);
      await sleep(options.beforeKillSeconds * 1000);
      const backends = await workerBackends(warehouse);
      const killedAt = performance.now();
      await pipeline.worker.kill();
      const { ready } = await pipeline.replaceWorker();
      const readyAt = ready.then(() => performance.now());
      // A commit the dead worker had already sent may still land: wait until its backends are gone.
      await waitUntil('the killed worker’s connections are gone', 30_000, async () => !(await workerBackends(warehouse)).some((pid) => backends.includes(pid)), 10);
      const committedAtKill = (await pipeline.committed()).offset;
      await waitUntil('ingestion moves again', 120_000, async () => (await pipeline.committed()).offset > committedAtKill, 20);
      const movedAt = performance.now();
      await pipeline.waitForOffset(sourceEvents, 300_000);
      timings = {
        seconds: Number(((movedAt - killedAt) / 1000).toFixed(2)),
        replacementReadySeconds: Number((((await readyAt) - killedAt) / 1000).toFixed(2)),
        committedAtKill,
        caughtUpSeconds: Number(((performance.now() - killedAt) / 1000).toFixed(1)),
      };
    } finally {
      await pipeline.stop();
    }
    return { ...timings, ...(await compareWithSource(warehouse, source)), sourceEvents };
  } finally {
    await warehouse.drop();
  }
}
