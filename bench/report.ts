import type { Percentiles } from './latency.js';

/** bench/results/latest.json: exactly these keys; null where the measurement did not run (or failed). */
export interface LatestResults {
  readonly ingest_throughput_eps: number | null;
  readonly copy_floor_eps: number | null;
  readonly ingest_vs_floor: number | null;
  readonly naive_baseline_eps: number | null;
  readonly latency_ms: Percentiles | null;
  readonly recovery: { readonly seconds: number; readonly lost: number; readonly duplicated: number } | null;
  readonly worker_rss_mb_peak: number | null;
  readonly api_rss_mb_peak: number | null;
  readonly scaling: { readonly empty_eps: number; readonly rows_1m_eps: number; readonly rows_10m_eps: number } | null;
  readonly dashboards: {
    readonly orders: number;
    readonly history_years: number;
    readonly slowest_card_ms: number;
    readonly all_cards_ms: number;
    readonly cards: Record<string, number>;
    /** `rollups rebuild` over the whole history. */
    readonly rebuild_seconds: number;
    /** Every view equal to the same aggregate over the facts in six session zones, business days included. */
    readonly views_equal_facts: boolean;
  } | null;
  /**
   * Aggregate events/s of 1, 2 and 4 streams (one event API each) on one worker and on two; `quiet`: 200
   * feeds at 5 events/s on one worker (bench/streams-quiet.ts; every figure in latest.meta.json).
   */
  readonly streams: {
    readonly one_worker: Record<string, number> | null;
    readonly two_workers: Record<string, number> | null;
    readonly quiet: QuietFigures | null;
  } | null;
}

export interface QuietFigures {
  readonly feeds: number;
  readonly staleness_p99_s: number;
  readonly worker_connections: number;
  readonly worker_rss_mb: number;
  readonly staleness_p50_s: number;
  readonly temporal_actions_per_feed_minute: number;
  readonly streams_never_committed: number;
  readonly cpu_pressure_percent: number | null;
}

/** Issue 15's targets (the round before set throughput ≥ 10,000 events/s and p99 ≤ 250 ms), and issue 19's for the dashboards. */
const TARGETS = {
  ingestVsFloor: 0.5,
  latencyP99Ms: 100,
  recoverySeconds: 4,
  workerRssMb: 200,
  /** Slowest scaling level at least this share of the fastest. */
  scalingSpread: 0.9,
  /** Issue 19: every card over years of history, alone and together. */
  slowestCardMs: 20,
  allCardsMs: 200,
  /** Issue 20: 200 quiet feeds on one worker with the defaults. */
  quietStalenessP99Seconds: 2,
  quietWorkerConnections: 24,
  quietWorkerRssMb: 300,
} as const;

const n = (value: number) => Math.round(value).toLocaleString('en');
const percent = (ratio: number) => `${Math.round(ratio * 100)}%`;

function verdict(meets: boolean): string {
  return meets ? 'meets' : 'MISSES the target';
}

/** The results as a readable table: what was measured, the number, the target, and how they compare. */
export function formatTable(results: LatestResults, notes: { generatorEps?: number; latencyRateEps?: number } = {}): string {
  const rows: Array<[string, string, string, string]> = [];
  const r = results;
  if (r.ingest_throughput_eps !== null) {
    const eps = r.ingest_throughput_eps;
    rows.push(['ingest throughput (SSE → worker → PostgreSQL)', `${n(eps)} events/s`, '–', '']);
  }
  if (r.copy_floor_eps !== null) {
    rows.push(['COPY floor (same rows, same tables)', `${n(r.copy_floor_eps)} events/s`, '–', '']);
  }
  if (r.ingest_vs_floor !== null) {
    rows.push(['ingest ÷ COPY floor', r.ingest_vs_floor.toFixed(2), `≥ ${TARGETS.ingestVsFloor}`, verdict(r.ingest_vs_floor >= TARGETS.ingestVsFloor)]);
  }
  if (r.naive_baseline_eps !== null) {
    const times = r.ingest_throughput_eps === null ? '' : `ingest is ${(r.ingest_throughput_eps / r.naive_baseline_eps).toFixed(1)}× the old way`;
    rows.push(['naive baseline (INSERT per event, autocommit)', `${n(r.naive_baseline_eps)} events/s`, '–', times]);
  }
  if (r.latency_ms !== null) {
    const { p50, p95, p99 } = r.latency_ms;
    rows.push([
      `latency ts → visible at ${n(notes.latencyRateEps ?? 1000)} events/s`,
      `p50 ${p50} · p95 ${p95} · p99 ${p99} ms`,
      `p99 ≤ ${TARGETS.latencyP99Ms}`,
      verdict(p99 <= TARGETS.latencyP99Ms),
    ]);
  }
  if (r.recovery !== null) {
    const { seconds, lost, duplicated } = r.recovery;
    rows.push(['recovery after SIGKILL of the worker', `${seconds} s, ${lost} lost, ${duplicated} doubled`, `≤ ${TARGETS.recoverySeconds} s, 0, 0`, verdict(seconds <= TARGETS.recoverySeconds && lost === 0 && duplicated === 0)]);
  }
  if (r.worker_rss_mb_peak !== null) rows.push(['worker peak RSS', `${n(r.worker_rss_mb_peak)} MB`, `≤ ${TARGETS.workerRssMb} MB`, verdict(r.worker_rss_mb_peak <= TARGETS.workerRssMb)]);
  if (r.api_rss_mb_peak !== null) rows.push(['event API peak RSS', `${n(r.api_rss_mb_peak)} MB`, '–', '']);
  if (r.scaling !== null) {
    const { empty_eps, rows_1m_eps, rows_10m_eps } = r.scaling;
    const spread = Math.min(empty_eps, rows_1m_eps, rows_10m_eps) / Math.max(empty_eps, rows_1m_eps, rows_10m_eps);
    rows.push(['scaling: events_raw empty / 1M / 10M rows', `${n(empty_eps)} / ${n(rows_1m_eps)} / ${n(rows_10m_eps)} events/s`, 'within 10%', `${verdict(spread >= TARGETS.scalingSpread)} (slowest ${percent(spread)} of fastest)`]);
  }
  if (r.dashboards !== null) {
    const { orders, history_years, slowest_card_ms, all_cards_ms, rebuild_seconds, views_equal_facts } = r.dashboards;
    rows.push([`dashboards, ${n(orders)} orders over ${history_years} years: slowest card`, `${slowest_card_ms} ms`, `≤ ${TARGETS.slowestCardMs} ms`, verdict(slowest_card_ms <= TARGETS.slowestCardMs)]);
    rows.push(['dashboards: all cards together', `${all_cards_ms} ms`, `≤ ${TARGETS.allCardsMs} ms`, verdict(all_cards_ms <= TARGETS.allCardsMs)]);
    rows.push(['dashboards: views equal the facts in 6 session zones', views_equal_facts ? 'yes' : 'no', 'yes', verdict(views_equal_facts)]);
    rows.push(['dashboards: rollups rebuild over the whole history', `${rebuild_seconds} s`, '–', '']);
  }
  if (r.streams !== null) {
    for (const [workers, label] of [['one_worker', 'one worker'], ['two_workers', 'two workers']] as const) {
      const byCount = r.streams[workers];
      if (byCount === null) continue;
      const single = byCount['1'];
      const counts = Object.keys(byCount);
      rows.push([`streams 1 / 2 / 4 on ${label}`, `${counts.map((count) => n(byCount[count]!)).join(' / ')} events/s`, '–', single ? `4 streams: ${percent((byCount['4'] ?? 0) / single)} of 1` : '']);
    }
    const quiet = r.streams.quiet;
    if (quiet !== null) {
      const feeds = `${quiet.feeds} quiet feeds on one worker`;
      rows.push([`${feeds}: staleness p99`, `${quiet.staleness_p99_s} s (p50 ${quiet.staleness_p50_s} s)`, `≤ ${TARGETS.quietStalenessP99Seconds} s`, verdict(quiet.staleness_p99_s <= TARGETS.quietStalenessP99Seconds)]);
      rows.push([`${feeds}: warehouse connections`, String(quiet.worker_connections), `≤ ${TARGETS.quietWorkerConnections}`, verdict(quiet.worker_connections <= TARGETS.quietWorkerConnections)]);
      rows.push([`${feeds}: worker peak RSS`, `${n(quiet.worker_rss_mb)} MB`, `≤ ${TARGETS.quietWorkerRssMb} MB`, verdict(quiet.worker_rss_mb <= TARGETS.quietWorkerRssMb)]);
      rows.push([`${feeds}: Temporal actions per feed-minute`, String(quiet.temporal_actions_per_feed_minute), 'stated', '']);
    }
  }
  if (notes.generatorEps !== undefined) rows.push(['event API to one SSE client (source capacity)', `${n(notes.generatorEps)} events/s`, '–', '']);
  if (rows.length === 0) return 'no measurement produced a result';
  const widths = [0, 1, 2, 3].map((column) => Math.max(...rows.map((row) => row[column]!.length), ['measure', 'result', 'target', ''][column]!.length));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  return [line(['measure', 'result', 'target', '']), line(widths.map((width) => '─'.repeat(width))), ...rows.map(line)].join('\n');
}
