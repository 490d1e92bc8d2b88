import { ingestionStatuses, ensureStreamRunning, stopIngestion } from '../clients/ingestion-control.js';
import { loadConfig } from '../config/env.js';
import { tuningFrom } from '../config/streams.js';
import { waitUntil } from '../stack/wait.js';
import { startCpuShare } from './cpu-share.js';
import type { BenchEnvironment, BenchWarehouse } from './environment.js';
import { processFamily } from './proc-stats.js';
import type { ApiProcess, MeasuredProcess } from './processes.js';

export const STREAM_COUNTS = [1, 2, 4] as const;
export const WORKER_COUNTS = { one_worker: 1, two_workers: 2 } as const;

export interface StreamsOptions {
  /** Events of all streams together in one run, split evenly over its streams (each within the API's retention). */
  readonly totalEvents: number;
  readonly log: (line: string) => void;
}

export interface StreamsRun {
  readonly workers: number;
  readonly streams: number;
  /** Aggregate events/s over the window: committed events of every stream / seconds. */
  readonly eps: number;
  readonly events: number;
  readonly seconds: number;
  /** Cores used by each component during the window (1.0 = one core busy throughout). */
  readonly cpuCores: Record<string, number>;
}

export interface StreamsResult {
  readonly runs: StreamsRun[];
  /** `"streams"` of latest.json: aggregate events/s by workers, then by number of streams. */
  readonly figures: Record<keyof typeof WORKER_COUNTS, Record<string, number>>;
}

async function committedEvents(warehouse: BenchWarehouse): Promise<{ events: number; streams: number; at: number }> {
  const { rows } = await warehouse.pool.query<{ events: string; streams: string }>(
    'SELECT coalesce(sum(events_total), 0) AS events, count(*) FILTER (WHERE events_total > 0) AS streams FROM raw_data.stream_checkpoints',
  );
  return { events: Number(rows[0]?.events ?? 0), streams: Number(rows[0]?.streams ?? 0), at: performance.now() };
}

/**
 * Several feeds side by side: `streams` event API processes (each its own seed, its events produced
 * before the run starts) ingested by `workers` worker processes on one task queue, each stream its
 * own workflow. The window opens once every stream has committed a batch and closes when 90% of all
 * events have landed, so session start-up and the last stream's tail do not count.
 */
async function measureOne(env: BenchEnvironment, workers: number, streams: number, options: StreamsOptions): Promise<StreamsRun> {
  const perStream = Math.floor(options.totalEvents / streams);
  const warehouse = await env.createWarehouse(`streams_${workers}w_${streams}s`);
  const temporal = await env.temporal();
  const taskQueue = `bench-streams-${workers}w-${streams}s`;
  const config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: taskQueue };
  const apis: ApiProcess[] = [];
  const workerProcesses: MeasuredProcess[] = [];
  try {
    for (let i = 0; i < streams; i++) apis.push(await env.processes.startApi({ seed: `bench-streams-${i}`, rate: 'max', maxEvents: perStream }));
    await waitUntil('every source has produced its events', 120_000, () => Promise.resolve(apis.every((api) => api.head >= perStream)), 50);
    for (let i = 0; i < workers; i++) {
      const { process, ready } = await env.processes.startWorker({ databaseUrl: warehouse.workerUrl, temporalAddress: temporal.address, taskQueue });
      workerProcesses.push(process);
      await ready;
    }
    const tuning = tuningFrom(config);
    for (const [i, api] of apis.entries()) await ensureStreamRunning(temporal.client, config, { stream: `bench_stream_${i}`, mode: 'realtime', sourceUrl: api.url, tuning });
    await waitUntil('every stream commits its first batch', 120_000, async () => (await committedEvents(warehouse)).streams === streams, 20);
    const first = await committedEvents(warehouse);
    const cpu = startCpuShare({
      workers: () => workerProcesses.map((worker) => worker.pid),
      apis: () => apis.map((api) => api.measured.pid),
      postgres: () => (env.postgresPid ? processFamily(env.postgresPid) : []),
      temporal: () => (env.temporalPid ? [env.temporalPid] : []),
    });
    const target = Math.round(perStream * streams * 0.9);
    await waitUntil('90% of all events commit', 600_000, async () => (await committedEvents(warehouse)).events >= target, 20);
    const last = await committedEvents(warehouse);
    const cpuCores = cpu.stop();
    const seconds = (last.at - first.at) / 1000;
    const events = last.events - first.events;
    const lost = (await ingestionStatuses(temporal.client, config, { all: true })).reduce((sum, status) => {
      if (status.unanswered !== undefined) throw new Error(`stream ${status.stream}: ${status.unanswered}`);
      return sum + status.totals.eventsLostAtSource + status.totals.rejected;
    }, 0);
    if (lost > 0) throw new Error(`${lost} events were lost at the source or rejected: the run does not count`);
    const run = { workers, streams, eps: Math.round(events / seconds), events, seconds: Number(seconds.toFixed(1)), cpuCores };
    options.log(`streams: ${streams} stream(s) on ${workers} worker(s): ${run.eps} events/s (${events} events in ${run.seconds} s; cores ${JSON.stringify(cpuCores)})`);
    return run;
  } finally {
    await stopIngestion(temporal.client, config, { all: true }).catch(() => undefined);
    for (const worker of workerProcesses) await worker.stop();
    for (const api of apis) await api.measured.stop();
    await warehouse.drop();
  }
}

/** Aggregate throughput with 1, 2 and 4 streams on one worker and on two. */
export async function measureStreams(env: BenchEnvironment, options: StreamsOptions): Promise<StreamsResult> {
  const runs: StreamsRun[] = [];
  const figures = { one_worker: {}, two_workers: {} } as StreamsResult['figures'];
  for (const [key, workers] of Object.entries(WORKER_COUNTS) as Array<[keyof typeof WORKER_COUNTS, number]>) {
    for (const streams of STREAM_COUNTS) {
      const run = await measureOne(env, workers, streams, options);
      runs.push(run);
      figures[key][String(streams)] = run.eps;
    }
  }
  return { runs, figures };
}
