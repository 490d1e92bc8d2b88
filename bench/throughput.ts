import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { BenchEnvironment } from './environment.js';
import { Pipeline } from './pipeline.js';
import { resetStatementStats, summariseCpuProfiles, topStatements, type CpuProfileSummary, type StatementCost } from './profile.js';
import { sustainedRate, type SustainedRate } from './sustained-rate.js';

export const THROUGHPUT_SEED = 'bench-throughput';

export interface ThroughputOptions {
  readonly seconds: number;
  readonly warmUpSeconds: number;
  /** Profile the worker's CPU and the database's statements during the window. */
  readonly profile: boolean;
}

export interface ThroughputResult extends SustainedRate {
  /** Source offsets 1..this were committed when the pipeline stopped: the events the COPY floor rewrites. */
  readonly committedOffset: number;
  /** Rows in raw_data.events_raw at the end; equal to the checkpoint's events_total, else the run fails. */
  readonly rowsInEventsRaw: number;
  readonly tuning: unknown;
  readonly profile?: { readonly worker: CpuProfileSummary[]; readonly statements: StatementCost[] };
}

/**
 * Whole-path throughput: the event API at full speed (`rate: 'max'`, kept a bounded lead ahead so it
 * never drops events, see pipeline.ts) over SSE to a worker process, into the migrated warehouse,
 * counted from committed rows. Every source offset must land: a rejection or loss fails the run.
 */
export async function measureThroughput(env: BenchEnvironment, options: ThroughputOptions): Promise<ThroughputResult> {
  const warehouse = await env.createWarehouse('throughput');
  const cpuProfileDir = options.profile ? path.join(env.runDir, 'profiles') : undefined;
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  try {
    const pipeline = await Pipeline.start(env, { warehouse, api: { seed: THROUGHPUT_SEED, rate: 'max' }, stream: 'bench_throughput', cpuProfileDir });
    let measured: Awaited<ReturnType<typeof sustainedRate>>;
    let statements: StatementCost[] = [];
    try {
      if (options.profile) await resetStatementStats(warehouse.pool);
      measured = await sustainedRate(env, pipeline, warehouse.pool, options);
      if (options.profile) statements = await topStatements(warehouse.pool);
    } finally {
      await pipeline.stop();
    }
    const committed = await pipeline.committed();
    const { rows } = await warehouse.pool.query<{ raw: string; rejected: string }>(
      'SELECT (SELECT count(*) FROM raw_data.events_raw) AS raw, (SELECT count(*) FROM raw_data.events_rejected) AS rejected',
    );
    const rowsInEventsRaw = Number(rows[0]?.raw ?? 0);
    if (rowsInEventsRaw !== committed.offset || Number(rows[0]?.rejected) > 0) {
      throw new Error(`offsets 1..${committed.offset} committed, but events_raw holds ${rowsInEventsRaw} rows and ${rows[0]?.rejected} were rejected or lost`);
    }
    const exitedAt = pipeline.worker.exitedAt ?? performance.now();
    const profileWindow = { fromMs: exitedAt - measured.window.startedAt, toMs: exitedAt - measured.window.endedAt };
    return {
      ...measured.rate,
      committedOffset: committed.offset,
      rowsInEventsRaw,
      tuning: pipeline.tuning,
      profile: cpuProfileDir ? { worker: summariseCpuProfiles(cpuProfileDir, profileWindow), statements } : undefined,
    };
  } finally {
    await warehouse.drop();
  }
}
