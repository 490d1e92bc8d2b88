import type { BenchEnvironment } from './environment.js';
import { Pipeline } from './pipeline.js';
import { prefillEventsRaw } from './prefill.js';
import { sustainedRate, type SustainedRate } from './sustained-rate.js';

export interface ScalingOptions {
  readonly seconds: number;
  readonly warmUpSeconds: number;
  readonly log: (line: string) => void;
}

export interface ScalingLevel extends SustainedRate {
  readonly label: 'empty' | '1m' | '10m';
  /** Rows in raw_data.events_raw when the level's ingestion started. */
  readonly rowsBefore: number;
  readonly prefillSeconds: number;
}

const LEVELS = [
  { label: 'empty', rows: 0 },
  { label: '1m', rows: 1_000_000 },
  { label: '10m', rows: 10_000_000 },
] as const;

/**
 * Whole-path throughput (as in throughput.ts, for a shorter window) with raw_data.events_raw holding
 * none, one million and ten million rows. One database throughout: each level tops the table up to its
 * size (the rows the previous level ingested count) and empties the facts, so only events_raw differs.
 */
export async function measureScaling(env: BenchEnvironment, options: ScalingOptions): Promise<ScalingLevel[]> {
  const warehouse = await env.createWarehouse('scaling');
  const levels: ScalingLevel[] = [];
  try {
    for (const level of LEVELS) {
      const prefillStartedAt = performance.now();
      await warehouse.pool.query('TRUNCATE analytics.orders, analytics.audit_log, staging.pending_children CASCADE');
      await prefillEventsRaw(warehouse, level.rows, options.log);
      // Settle what the fill left behind (visibility map, statistics, dirty buffers), or autovacuum
      // and the checkpointer would do it during the window.
      await warehouse.pool.query('VACUUM (ANALYZE) raw_data.events_raw');
      await warehouse.pool.query('CHECKPOINT');
      const prefillSeconds = Number(((performance.now() - prefillStartedAt) / 1000).toFixed(1));
      const { rows } = await warehouse.pool.query<{ n: string }>('SELECT count(*) AS n FROM raw_data.events_raw');
      const stream = `bench_scaling_${level.label}`;
      const pipeline = await Pipeline.start(env, { warehouse, stream, api: { seed: stream, rate: 'max' } });
      try {
        const { rate } = await sustainedRate(env, pipeline, warehouse.pool, options);
        levels.push({ label: level.label, rowsBefore: Number(rows[0]?.n ?? 0), prefillSeconds, ...rate });
        options.log(`scaling: ${level.label}: ${rate.eps.toLocaleString('en')} events/s`);
      } finally {
        await pipeline.stop();
      }
    }
    return levels;
  } finally {
    await warehouse.drop();
  }
}
