import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { startCpuShare } from './cpu-share.js';
import type { BenchEnvironment } from './environment.js';
import type { Pipeline } from './pipeline.js';
import { processFamily } from './proc-stats.js';
import { sampleServerActivity, type ActivityShare } from './server-activity.js';
import { startServerCost, type ServerCost } from './server-counters.js';

export interface SustainedRate {
  /** Events committed per second over the window. */
  readonly eps: number;
  readonly events: number;
  readonly seconds: number;
  /** Cores each component kept busy during the window. */
  readonly cpuCores: Record<string, number>;
  readonly server: ServerCost;
  /** What PostgreSQL's busy backends were doing during the window. */
  readonly serverActivity: ActivityShare[];
}

/** The window in performance.now() milliseconds. */
export interface RateWindow {
  readonly startedAt: number;
  readonly endedAt: number;
}

/**
 * Committed events per second over `seconds`, after `warmUpSeconds` of ingestion. Counted from the
 * checkpoint row's events_total, which each batch's transaction updates together with its rows.
 */
export async function sustainedRate(
  env: BenchEnvironment,
  pipeline: Pipeline,
  pool: pg.Pool,
  window: { warmUpSeconds: number; seconds: number },
): Promise<{ rate: SustainedRate; window: RateWindow }> {
  await pipeline.waitForOffset(1, 120_000);
  await sleep(window.warmUpSeconds * 1000);
  const serverCost = await startServerCost(pool);
  const activity = sampleServerActivity(pool);
  const first = await pipeline.committed();
  const cpu = startCpuShare({
    worker: () => [pipeline.worker.pid],
    api: () => [pipeline.api.measured.pid],
    postgres: () => (env.postgresPid ? processFamily(env.postgresPid) : []),
    temporal: () => (env.temporalPid ? [env.temporalPid] : []),
    bench: () => [process.pid],
  });
  await sleep(window.seconds * 1000);
  const last = await pipeline.committed();
  const cpuCores = cpu.stop();
  const seconds = (last.at - first.at) / 1000;
  const events = last.events - first.events;
  const server = await serverCost.stop(events);
  const serverActivity = await activity.stop();
  return {
    rate: { eps: Math.round(events / seconds), events, seconds: Number(seconds.toFixed(1)), cpuCores, server, serverActivity },
    window: { startedAt: first.at, endedAt: last.at },
  };
}
