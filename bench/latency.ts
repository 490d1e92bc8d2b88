import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchEnvironment } from './environment.js';
import { steadyRate } from './pacing.js';
import { Pipeline } from './pipeline.js';

export interface LatencyOptions {
  readonly eventsPerSecond: number;
  readonly seconds: number;
  readonly warmUpSeconds: number;
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface LatencyResult {
  /** ts → seen committed: an upper bound (the poll that first saw the row). */
  readonly upper: Percentiles & { readonly max: number };
  /** ts → the poll before, which did not see it yet: a lower bound. */
  readonly lower: Percentiles;
  readonly events: number;
  /** Events per second the source delivered during the window. */
  readonly deliveredEps: number;
  /** Mean time between two polls of the checkpoint (the width of the bound). */
  readonly pollIntervalMs: number;
  /**
   * Spells of more than STALL_MS in which nothing committed: when they began (seconds into the window),
   * and whether a session ended in them (the activity hands over to the next one: a new SSE connection).
   */
  readonly stalls: Array<{ readonly atSeconds: number; readonly ms: number; readonly sessionBoundary: boolean }>;
  /** The longest of those stalls, and the longest one at a session boundary (0: none). */
  readonly worstStallMs: number;
  readonly worstSessionBoundaryStallMs: number;
}

/** At 1,000 events/s a batch commits every few tens of milliseconds; a longer silence is a stall. */
const STALL_MS = 150;

function stallsOf(polls: ReadonlyArray<{ offset: number; seen: number }>, sessionEnds: readonly number[]): LatencyResult['stalls'] {
  const stalls: Array<LatencyResult['stalls'][number]> = [];
  const start = polls[0]?.seen ?? 0;
  let movedAt = start;
  for (let i = 1; i < polls.length; i++) {
    const poll = polls[i]!;
    if (poll.offset === polls[i - 1]!.offset) continue;
    if (poll.seen - movedAt > STALL_MS) {
      stalls.push({
        atSeconds: Number(((movedAt - start) / 1000).toFixed(1)),
        ms: Math.round(poll.seen - movedAt),
        sessionBoundary: sessionEnds.some((end) => end >= movedAt && end <= poll.seen),
      });
    }
    movedAt = poll.seen;
  }
  return stalls;
}

const POLL_EVERY_MS = 5;

const nowMs = () => performance.timeOrigin + performance.now();

function percentiles(sorted: readonly number[]): Percentiles {
  const at = (q: number) => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN).toFixed(1));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/**
 * End-to-end latency at a steady rate: the event API stamps each event's `ts` with the wall clock as
 * it emits it; a poller here reads the checkpoint row (committed in the same transaction as the rows)
 * every few milliseconds and notes, on the same clock, when each offset became visible. An event's
 * latency lies between the last poll that did not see it and the first that did; both are reported.
 */
export async function measureLatency(env: BenchEnvironment, options: LatencyOptions): Promise<LatencyResult> {
  const warehouse = await env.createWarehouse('latency');
  const stream = 'bench_latency';
  try {
    const pipeline = await Pipeline.start(env, { warehouse, stream, api: { seed: 'bench-latency', clock: 'wall', ...steadyRate(options.eventsPerSecond) } });
    const polls: Array<{ offset: number; before: number; seen: number }> = [];
    let sessionEnds: number[];
    try {
      await pipeline.waitForOffset(1, 120_000);
      await sleep(options.warmUpSeconds * 1000);
      const end = nowMs() + options.seconds * 1000;
      while (nowMs() < end) {
        const before = nowMs();
        const { offset } = await pipeline.committed();
        polls.push({ offset, before, seen: nowMs() });
        await sleep(POLL_EVERY_MS);
      }
      sessionEnds = await pipeline.sessionEnds();
    } finally {
      await pipeline.stop();
    }
    const first = polls[0]!;
    const last = polls.at(-1)!;
    const { rows } = await warehouse.pool.query<{ event_offset: string; ts: Date }>(
      'SELECT event_offset, ts FROM raw_data.events_raw WHERE stream_name = $1 AND event_offset > $2 AND event_offset <= $3 ORDER BY event_offset',
      [stream, first.offset, last.offset],
    );
    const upper: number[] = [];
    const lower: number[] = [];
    let poll = 0;
    for (const row of rows) {
      const offset = Number(row.event_offset);
      while (polls[poll]!.offset < offset) poll += 1;
      const ts = row.ts.getTime();
      upper.push(polls[poll]!.seen - ts);
      lower.push(Math.max(0, polls[poll - 1]!.before - ts));
    }
    upper.sort((a, b) => a - b);
    lower.sort((a, b) => a - b);
    const windowSeconds = (last.seen - first.seen) / 1000;
    const stalls = stallsOf(polls, sessionEnds);
    return {
      upper: { ...percentiles(upper), max: Number((upper.at(-1) ?? Number.NaN).toFixed(1)) },
      lower: percentiles(lower),
      events: rows.length,
      deliveredEps: Math.round(rows.length / windowSeconds),
      pollIntervalMs: Number(((last.seen - first.seen) / polls.length).toFixed(1)),
      stalls,
      worstStallMs: Math.max(0, ...stalls.map((stall) => stall.ms)),
      worstSessionBoundaryStallMs: Math.max(0, ...stalls.filter((stall) => stall.sessionBoundary).map((stall) => stall.ms)),
    };
  } finally {
    await warehouse.drop();
  }
}
