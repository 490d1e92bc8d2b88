import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../config/env.js';
import { measureCopyFloor, type CopyFloorResult } from './copy-floor.js';
import { measureDashboards, type DashboardsResult } from './dashboards.js';
import { BenchEnvironment } from './environment.js';
import { measureGeneratorThroughput, type GeneratorThroughput } from './generator-throughput.js';
import { measureLatency, type LatencyResult } from './latency.js';
import { describeMachine, type MachineDescription } from './machine.js';
import { measureNaiveBaseline, type NaiveBaselineResult } from './naive-baseline.js';
import { phaseDurations, selectedMeasurements, type BenchFlags, type Measurement, type PhaseDurations } from './options.js';
import { pressureStallMicros } from './proc-stats.js';
import { PROFILE_POSTGRES_SETTINGS } from './profile.js';
import { measureRecovery, type RecoveryResult } from './recovery.js';
import { formatTable, type LatestResults, type QuietFigures } from './report.js';
import { measureScaling, type ScalingLevel } from './scaling.js';
import { measureStreams, type StreamsResult } from './streams.js';
import { measureStreamsQuiet, type StreamsQuietResult } from './streams-quiet.js';
import { measureThroughput, THROUGHPUT_SEED, type ThroughputResult } from './throughput.js';

export interface BenchRunOptions extends BenchFlags {
  /** An existing PostgreSQL server (superuser URL) instead of an embedded one of the run's own. */
  readonly serverUrl?: string;
  /** An existing Temporal frontend instead of a dev server of the run's own. */
  readonly temporalAddress?: string;
  /** Where latest.json and latest.meta.json are written; default bench/results. */
  readonly resultsDir?: string;
  readonly log?: (line: string) => void;
}

interface Outcomes {
  generator?: GeneratorThroughput;
  throughput?: ThroughputResult;
  'copy-floor'?: CopyFloorResult;
  naive?: NaiveBaselineResult;
  latency?: LatencyResult;
  recovery?: RecoveryResult;
  streams?: StreamsResult;
  'streams.quiet'?: StreamsQuietResult;
  scaling?: ScalingLevel[];
  dashboards?: DashboardsResult;
}

interface PhaseRecord {
  readonly seconds: number;
  /** 1, 5 and 15 minute load averages when the phase began and ended (the machine is shared). */
  readonly loadBefore: number[];
  readonly loadAfter: number[];
  /** Share of the phase in which some task waited for a CPU, or for I/O: how much others disturbed it. */
  readonly cpuPressurePercent?: number;
  readonly ioPressurePercent?: number;
  readonly workerRssMbPeak?: number;
  readonly apiRssMbPeak?: number;
  readonly error?: string;
}

/** bench/results/latest.meta.json: how, where and when the numbers of latest.json were measured. */
export interface BenchMeta {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly measurements: Measurement[];
  readonly flags: BenchFlags;
  readonly durations: PhaseDurations;
  readonly machine?: MachineDescription;
  readonly phases: Partial<Record<Measurement, PhaseRecord>>;
  readonly details: Outcomes;
}

export interface BenchRun {
  readonly results: LatestResults;
  readonly meta: BenchMeta;
  readonly table: string;
  readonly files: string[];
  /** Measurements that failed (their error is in meta.phases). */
  readonly failed: Measurement[];
}

/** At 1,000 events/s, as the latency target says. */
const LATENCY_RATE = 1_000;
/** "Under load": half the throughput target, so the replacement also has a backlog to catch up. */
const RECOVERY_RATE = 5_000;
const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** The agreed four figures of many quiet feeds, and the few that say how to read them. */
function quietFigures(quiet: StreamsQuietResult | undefined): QuietFigures | null {
  if (!quiet) return null;
  const { feeds, staleness_p99_s, worker_connections, worker_rss_mb, staleness_p50_s, temporal_actions_per_feed_minute, streams_never_committed, cpu_pressure_percent } = quiet;
  return { feeds, staleness_p99_s, worker_connections, worker_rss_mb, staleness_p50_s, temporal_actions_per_feed_minute, streams_never_committed, cpu_pressure_percent };
}

/** Measurements whose workers carry several feeds: their memory is in their own figures, not in worker_rss_mb_peak. */
const MANY_FEEDS: readonly Measurement[] = ['streams', 'streams.quiet'];

function resultsOf(outcomes: Outcomes, peaks: { worker?: number; api?: number }): LatestResults {
  const { throughput, latency, recovery, scaling } = outcomes;
  const floor = outcomes['copy-floor'];
  const level = (label: ScalingLevel['label']) => scaling?.find((entry) => entry.label === label)?.eps;
  const [empty, oneMillion, tenMillion] = [level('empty'), level('1m'), level('10m')];
  return {
    ingest_throughput_eps: throughput?.eps ?? null,
    copy_floor_eps: floor?.eps ?? null,
    ingest_vs_floor: throughput && floor ? round(throughput.eps / floor.eps) : null,
    naive_baseline_eps: outcomes.naive?.eps ?? null,
    latency_ms: latency ? { p50: latency.upper.p50, p95: latency.upper.p95, p99: latency.upper.p99 } : null,
    recovery: recovery ? { seconds: recovery.seconds, lost: recovery.lost, duplicated: recovery.duplicated } : null,
    worker_rss_mb_peak: peaks.worker ?? null,
    api_rss_mb_peak: peaks.api ?? null,
    scaling: empty !== undefined && oneMillion !== undefined && tenMillion !== undefined ? { empty_eps: empty, rows_1m_eps: oneMillion, rows_10m_eps: tenMillion } : null,
    dashboards: outcomes.dashboards
      ? {
          orders: outcomes.dashboards.orders,
          history_years: outcomes.dashboards.history_years,
          slowest_card_ms: outcomes.dashboards.slowest_card_ms,
          all_cards_ms: outcomes.dashboards.all_cards_ms,
          cards: outcomes.dashboards.cards,
          rebuild_seconds: outcomes.dashboards.rebuild_seconds,
          views_equal_facts: outcomes.dashboards.views_equal_facts,
        }
      : null,
    streams:
      outcomes.streams || outcomes['streams.quiet']
        ? { one_worker: outcomes.streams?.figures.one_worker ?? null, two_workers: outcomes.streams?.figures.two_workers ?? null, quiet: quietFigures(outcomes['streams.quiet']) }
        : null,
  };
}

/**
 * `npm run bench`: provisions PostgreSQL and Temporal of its own, runs the chosen measurements in
 * turn (each on a fresh database; one failing does not stop the others), prints a table and writes
 * bench/results/latest.json (the numbers) and latest.meta.json (machine, load, per-phase details).
 */
export async function runBenchmarks(options: BenchRunOptions): Promise<BenchRun> {
  const log = options.log ?? ((line: string) => console.log(line));
  const measurements = selectedMeasurements(options);
  const durations = phaseDurations(options);
  const startedAt = new Date();
  log(`bench: ${measurements.join(', ')}${options.quick ? ' (quick)' : ''}; throughput window ${durations.throughputSeconds} s`);
  const env = await BenchEnvironment.open({
    serverUrl: options.serverUrl,
    temporalAddress: options.temporalAddress,
    postgresSettings: options.profile ? PROFILE_POSTGRES_SETTINGS : undefined,
    log,
  });
  const outcomes: Outcomes = {};
  const phases: Partial<Record<Measurement, PhaseRecord>> = {};
  const window = { seconds: durations.throughputSeconds, warmUpSeconds: durations.warmUpSeconds };
  const runners: { [K in Measurement]: () => Promise<NonNullable<Outcomes[K]>> } = {
    generator: () => measureGeneratorThroughput({ seconds: durations.generatorSeconds, log }),
    throughput: () => measureThroughput(env, { ...window, profile: options.profile }),
    'copy-floor': () =>
      measureCopyFloor(env, {
        seed: THROUGHPUT_SEED,
        events: Math.min(outcomes.throughput?.committedOffset ?? Number.POSITIVE_INFINITY, durations.copyFloorEvents),
      }),
    naive: () => measureNaiveBaseline(env, { seed: THROUGHPUT_SEED, seconds: durations.naiveSeconds }),
    latency: () => measureLatency(env, { eventsPerSecond: LATENCY_RATE, seconds: durations.latencySeconds, warmUpSeconds: durations.warmUpSeconds }),
    recovery: () =>
      measureRecovery(env, {
        eventsPerSecond: RECOVERY_RATE,
        beforeKillSeconds: durations.recoveryBeforeKillSeconds,
        afterKillSeconds: durations.recoveryAfterKillSeconds,
      }),
    dashboards: () =>
      measureDashboards(env, {
        orders: options.dashboardOrders ?? (options.quick ? 200_000 : 2_000_000),
        years: options.dashboardYears ?? 5,
        runs: options.quick ? 3 : 7,
        ingestSeconds: Math.max(5, Math.round(durations.throughputSeconds / 3)),
        warmUpSeconds: durations.warmUpSeconds,
        log,
      }),
    streams: () => measureStreams(env, { totalEvents: durations.streamsTotalEvents, log }),
    'streams.quiet': () => measureStreamsQuiet(env, { seconds: durations.quietSeconds, warmUpSeconds: durations.quietWarmUpSeconds, log }),
    scaling: () => measureScaling(env, { seconds: durations.scalingSeconds, warmUpSeconds: durations.warmUpSeconds, log }),
  };
  const run = async <K extends Measurement>(name: K) => {
    outcomes[name] = await runners[name]();
  };

  let machine: MachineDescription | undefined;
  const failed: Measurement[] = [];
  // The servers and processes run in process groups of their own: a Ctrl-C must stop them here.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping what the benchmark started …`);
    void env.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    machine = await describeMachine(env.serverUrl);
    for (const name of measurements) {
      log(`── ${name}`);
      const mark = env.processes.mark();
      const loadBefore = os.loadavg().map((load) => round(load));
      const stallsBefore = pressureStallMicros();
      const phaseStartedAt = performance.now();
      let error: string | undefined;
      try {
        await run(name);
      } catch (caught) {
        error = caught instanceof Error ? caught.message : String(caught);
        failed.push(name);
        log(`${name} failed: ${error}`);
      }
      const elapsedMicros = (performance.now() - phaseStartedAt) * 1000;
      const stallsAfter = pressureStallMicros();
      const pressure = (resource: 'cpu' | 'io') =>
        stallsBefore && stallsAfter ? round(((stallsAfter[resource] - stallsBefore[resource]) / elapsedMicros) * 100, 1) : undefined;
      phases[name] = {
        seconds: round(elapsedMicros / 1e6, 1),
        loadBefore,
        loadAfter: os.loadavg().map((load) => round(load)),
        cpuPressurePercent: pressure('cpu'),
        ioPressurePercent: pressure('io'),
        workerRssMbPeak: env.processes.peakRssMb('worker', mark),
        apiRssMbPeak: env.processes.peakRssMb('api', mark),
        error,
      };
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await env.close();
  }

  // worker_rss_mb_peak is a worker carrying one feed at full speed; the many-feed measurements report their own.
  const oneFeedPeaks = Object.entries(phases)
    .filter(([name]) => !MANY_FEEDS.includes(name as Measurement))
    .flatMap(([, phase]) => (phase.workerRssMbPeak === undefined ? [] : [phase.workerRssMbPeak]));
  const results = resultsOf(outcomes, { worker: oneFeedPeaks.length > 0 ? Math.max(...oneFeedPeaks) : undefined, api: env.processes.peakRssMb('api') });
  const finishedAt = new Date();
  const meta: BenchMeta = {
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: round((finishedAt.getTime() - startedAt.getTime()) / 1000, 1),
    measurements,
    flags: { only: options.only, quick: options.quick, seconds: options.seconds, skipScaling: options.skipScaling, profile: options.profile, dashboardOrders: options.dashboardOrders, dashboardYears: options.dashboardYears },
    durations,
    machine,
    phases,
    details: outcomes,
  };
  const resultsDir = options.resultsDir ?? path.join(projectRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const files = [path.join(resultsDir, 'latest.json'), path.join(resultsDir, 'latest.meta.json')];
  writeFileSync(files[0]!, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(files[1]!, `${JSON.stringify(meta, null, 2)}\n`);
  const table = formatTable(results, { generatorEps: outcomes.generator?.one_client_eps, latencyRateEps: outcomes.latency?.deliveredEps });
  return { results, meta, table, files, failed };
}
