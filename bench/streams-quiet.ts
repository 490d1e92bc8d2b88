import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { stopIngestion } from '../clients/ingestion-control.js';
import { loadConfig } from '../config/env.js';
import { loadStreamsFile } from '../config/streams.js';
import { STREAM_WORKFLOW_ID_PREFIX } from '../contracts/ingestion.js';
import { reconcileStreams } from '../stack/streams-reconcile.js';
import { waitUntil } from '../stack/wait.js';
import { startCpuShare } from './cpu-share.js';
import type { BenchEnvironment, BenchWarehouse } from './environment.js';
import { pressureStallMicros, processFamily } from './proc-stats.js';

/** The shape: 200 feeds at 5 events/s each, one worker with the defaults. */
export const QUIET_FEEDS = 200;
export const QUIET_RATE = 5;
const SAMPLE_EVERY_MS = 1_000;
/** The worker's pool names its connections so (worker/connections.ts); a prefix, should it grow a suffix. */
const WORKER_APPLICATION_NAME = 'restaurant-worker%';

export interface StreamsQuietOptions {
  /** Seconds of sampling after the warm-up. */
  readonly seconds: number;
  /** At most this long for every stream's first commit; the window opens then even if some never committed. */
  readonly warmUpSeconds: number;
  readonly log: (line: string) => void;
}

/** `"streams.quiet"` of latest.json: the four agreed figures first, then how they came about. */
export interface StreamsQuietResult {
  readonly feeds: number;
  /** Every feed sampled every second: now minus the `ts` (wall clock at emission) of its newest committed row; p99 over all samples. */
  readonly staleness_p99_s: number;
  /** Most connections the worker held to the warehouse at once (pg_stat_activity, by application_name), warm-up included. */
  readonly worker_connections: number;
  /** The worker's peak RSS (VmHWM) over the whole measurement. */
  readonly worker_rss_mb: number;
  readonly staleness_p50_s: number;
  readonly staleness_max_s: number;
  /**
   * Billable Temporal actions (as Temporal Cloud counts them) per feed per minute of the window: from the
   * workflow histories, the events that are actions (workflow started or continued, activity scheduled,
   * timer started, signal, marker, search attribute upsert, update accepted, child started) plus the
   * activity heartbeats that reached the server (the worker's temporal_request metric).
   */
  readonly temporal_actions_per_feed_minute: number;
  readonly temporal_history_events_per_feed_minute: number;
  readonly activity_heartbeats_per_feed_minute: number;
  /** Seconds from the workflows' start until every stream had committed (or the warm-up cap). */
  readonly warm_up_s: number;
  /** Streams that had not committed a row by the window's end (their staleness counts from the workflows' start). */
  readonly streams_never_committed: number;
  readonly window_s: number;
  readonly events_committed: number;
  /** Cores each component used during the window (1.0 = one core busy throughout). */
  readonly cpu_cores: Record<string, number>;
  /** Share of the window in which some task waited for a CPU (/proc/pressure/cpu): how loaded the machine was. */
  readonly cpu_pressure_percent: number | null;
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const quantile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/** Per stream, seconds since its newest committed row's `ts` (null before its first), and the worker's warehouse connections. */
async function sample(warehouse: BenchWarehouse): Promise<{ ages: Map<string, number | null>; connections: number; events: number }> {
  const [checkpoints, activity] = await Promise.all([
    warehouse.pool.query<{ stream_name: string; age: number | null; events: string }>(
      'SELECT stream_name, extract(epoch FROM clock_timestamp() - last_event_ts)::float8 AS age, events_total AS events FROM raw_data.stream_checkpoints',
    ),
    warehouse.pool.query<{ connections: string }>('SELECT count(*) AS connections FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2', [
      warehouse.name,
      WORKER_APPLICATION_NAME,
    ]),
  ]);
  return {
    ages: new Map(checkpoints.rows.map((row) => [row.stream_name, row.age])),
    connections: Number(activity.rows[0]?.connections ?? 0),
    events: checkpoints.rows.reduce((sum, row) => sum + Number(row.events), 0),
  };
}

/** RecordActivityTaskHeartbeat calls the worker made, from its Prometheus endpoint (the SDK's request counter). */
async function heartbeatsSent(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  let total = 0;
  for (const match of text.matchAll(/^temporal_request(?:_total)?\{[^}]*operation="RecordActivityTaskHeartbeat"[^}]*\} (\d+(?:\.\d+)?)$/gm)) total += Number(match[1]);
  return total;
}

const ACTION_ATTRIBUTES = [
  'workflowExecutionStartedEventAttributes',
  'activityTaskScheduledEventAttributes',
  'timerStartedEventAttributes',
  'workflowExecutionSignaledEventAttributes',
  'signalExternalWorkflowExecutionInitiatedEventAttributes',
  'markerRecordedEventAttributes',
  'upsertWorkflowSearchAttributesEventAttributes',
  'workflowPropertiesModifiedEventAttributes',
  'workflowExecutionUpdateAcceptedEventAttributes',
  'startChildWorkflowExecutionInitiatedEventAttributes',
  'requestCancelExternalWorkflowExecutionInitiatedEventAttributes',
] as const;

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

const eventMs = (event: HistoryEvent) => Number(String(event.eventTime?.seconds ?? 0)) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;

/** History events and actions of each stream's workflow within [fromMs, toMs], following continue-as-new back into the window. */
async function historyLoad(client: Client, streams: readonly string[], fromMs: number, toMs: number): Promise<{ events: number; actions: number }> {
  let events = 0;
  let actions = 0;
  for (const stream of streams) {
    let runId: string | undefined;
    for (;;) {
      const history = await client.workflow.getHandle(`${STREAM_WORKFLOW_ID_PREFIX}${stream}`, runId).fetchHistory();
      const all = history.events ?? [];
      for (const event of all) {
        const at = eventMs(event);
        if (at < fromMs || at > toMs) continue;
        events += 1;
        if (ACTION_ATTRIBUTES.some((attributes) => event[attributes])) actions += 1;
      }
      const started = all[0];
      runId = started?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
      if (!runId || !started || eventMs(started) < fromMs) break;
    }
  }
  return { events, actions };
}

/**
 * Many quiet feeds on one worker, as a restaurant group runs them: `restaurant-stack api --feeds 200
 * --rate 5` (wall-clock timestamps), a streams file of one ranged entry (200 streams) reconciled as
 * `npm start` does, and ONE `restaurant-stack worker` on default settings. After every stream has
 * committed (or the warm-up cap), every feed's staleness and the worker's warehouse connections are
 * sampled each second for the window; the worker's peak RSS and the Temporal load come with them.
 */
export async function measureStreamsQuiet(env: BenchEnvironment, options: StreamsQuietOptions): Promise<StreamsQuietResult> {
  const warehouse = await env.createWarehouse('streams_quiet');
  const temporal = await env.temporal();
  const taskQueue = 'bench-streams-quiet';
  const config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: taskQueue };
  const api = await env.processes.startFeeds({ feeds: QUIET_FEEDS, rate: QUIET_RATE, seed: 'bench-quiet' });
  let worker: Awaited<ReturnType<typeof env.processes.startWorker>> | undefined;
  try {
    const streamsFile = path.join(env.runDir, 'streams.quiet.yaml');
    writeFileSync(streamsFile, `streams:\n  - name: feed-{001..${QUIET_FEEDS}}\n    source: ${api.url}/feeds/feed-{001..${QUIET_FEEDS}}\n`);
    const specs = loadStreamsFile(streamsFile, config);
    const streams = specs.map((spec) => spec.name);

    worker = await env.processes.startWorker({ databaseUrl: warehouse.workerUrl, temporalAddress: temporal.address, taskQueue });
    await worker.ready;
    const startedAt = performance.now();
    await reconcileStreams(temporal.client, config, specs, () => undefined);
    options.log(`streams.quiet: ${specs.length} workflows started in ${round((performance.now() - startedAt) / 1000, 1)} s`);

    let peakConnections = 0;
    const committedStreams = async () => {
      const { ages, connections } = await sample(warehouse);
      peakConnections = Math.max(peakConnections, connections);
      return streams.filter((stream) => (ages.get(stream) ?? null) !== null).length;
    };
    // Streams still waiting at the cap are measured as they are: their staleness counts from the start.
    await waitUntil('every stream commits a row', options.warmUpSeconds * 1000, async () => (await committedStreams()) === streams.length, SAMPLE_EVERY_MS).catch((error: Error) => {
      if (!error.message.startsWith('timed out')) throw error;
    });
    const warmUpSeconds = (performance.now() - startedAt) / 1000;
    options.log(`streams.quiet: ${await committedStreams()} of ${streams.length} streams committed after ${round(warmUpSeconds, 1)} s of warm-up`);

    const cpu = startCpuShare({
      worker: () => [worker!.process.pid],
      api: () => [api.measured.pid],
      postgres: () => (env.postgresPid ? processFamily(env.postgresPid) : []),
      temporal: () => (env.temporalPid ? [env.temporalPid] : []),
    });
    const stallsBefore = pressureStallMicros();
    const heartbeatsBefore = await heartbeatsSent(worker.metricsUrl);
    const windowFrom = Date.now();
    const eventsBefore = (await sample(warehouse)).events;
    const staleness: number[] = [];
    let neverCommitted = 0;
    let eventsAfter = eventsBefore;
    const windowStart = performance.now();
    while (performance.now() - windowStart < options.seconds * 1000) {
      const tickAt = performance.now();
      const { ages, connections, events } = await sample(warehouse);
      peakConnections = Math.max(peakConnections, connections);
      eventsAfter = events;
      const sinceStart = (tickAt - startedAt) / 1000;
      neverCommitted = 0;
      for (const stream of streams) {
        const age = ages.get(stream) ?? null;
        if (age === null) neverCommitted += 1;
        staleness.push(age ?? sinceStart);
      }
      await sleep(Math.max(0, SAMPLE_EVERY_MS - (performance.now() - tickAt)));
    }
    const windowSeconds = (performance.now() - windowStart) / 1000;
    const windowTo = Date.now();
    const cpuCores = cpu.stop();
    const stallsAfter = pressureStallMicros();
    const heartbeats = (await heartbeatsSent(worker.metricsUrl)) - heartbeatsBefore;
    const load = await historyLoad(temporal.client, streams, windowFrom, windowTo);
    const feedMinutes = (streams.length * windowSeconds) / 60;
    staleness.sort((a, b) => a - b);
    const result: StreamsQuietResult = {
      feeds: streams.length,
      staleness_p99_s: round(quantile(staleness, 0.99)),
      worker_connections: peakConnections,
      worker_rss_mb: round(worker.process.peakRssMb, 1),
      staleness_p50_s: round(quantile(staleness, 0.5)),
      staleness_max_s: round(staleness.at(-1) ?? Number.NaN),
      temporal_actions_per_feed_minute: round((load.actions + heartbeats) / feedMinutes),
      temporal_history_events_per_feed_minute: round(load.events / feedMinutes),
      activity_heartbeats_per_feed_minute: round(heartbeats / feedMinutes),
      warm_up_s: round(warmUpSeconds, 1),
      streams_never_committed: neverCommitted,
      window_s: round(windowSeconds, 1),
      events_committed: eventsAfter - eventsBefore,
      cpu_cores: cpuCores,
      cpu_pressure_percent: stallsBefore && stallsAfter ? round(((stallsAfter.cpu - stallsBefore.cpu) / (windowSeconds * 1e6)) * 100, 1) : null,
    };
    options.log(`streams.quiet: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await stopIngestion(temporal.client, config, { all: true }).catch(() => undefined);
    await worker?.process.stop();
    await api.measured.stop();
    await warehouse.drop();
  }
}
