import { z } from 'zod';
import { timestamp } from '../events/index.js';
import { parseTimestamp, wallClockMicros, type Clock, type Micros } from './clock.js';
import type { Faults } from './faults.js';

export const DEFAULT_RATE = 200;
const DEFAULT_RETENTION = 100_000;
/** Where a seeded simulation's clock starts unless told otherwise: a Monday, just before the lunch rush. */
export const DEFAULT_SIMULATED_START = '2026-01-05T11:00:00.000000+00:00';
const MiB = 1024 * 1024;

/** Numbers may come as text (flags, environment): exact decimal text is read as a number, anything else left to fail. */
const numeric = <Schema extends z.ZodType>(schema: Schema) =>
  z.preprocess((value) => (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value), schema);

/** A whole number in [min, max], given as a number or as its decimal text. */
export const integerIn = (min: number, max = Number.MAX_SAFE_INTEGER) => {
  const error = max === Number.MAX_SAFE_INTEGER ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`;
  return numeric(z.int({ error }).min(min, { error }).max(max, { error }));
};

const probability = numeric(z.number({ error: 'must be a probability from 0 to 1' }).min(0, { error: 'must be a probability from 0 to 1' }).max(1, { error: 'must be a probability from 0 to 1' }));

export const faultsSchema = z.object({
  dropEvery: integerIn(0).default(0),
  malformedRate: probability.default(0),
  invalidRate: probability.default(0),
  duplicateRate: probability.default(0),
  childrenFirstRate: probability.default(0),
});

/** Events per second (the daily mean of a time-of-day pattern), or `'max'`: as fast as the clients take them. */
export const rateSchema = z.union([z.literal('max'), numeric(z.number().positive().max(10_000_000))], {
  error: 'must be a number of events per second (> 0) or "max"',
});
export type Rate = z.infer<typeof rateSchema>;

export const eventApiOptionsSchema = z.object({
  port: integerIn(0, 65535).default(8000),
  host: z.string().min(1).default('127.0.0.1'),
  rate: rateSchema.default(DEFAULT_RATE),
  /** Makes the stream a pure function of the seed (and the options below); without one a random seed is used. */
  seed: z.string().trim().min(1, { error: 'must not be empty' }).optional(),
  /** `simulated`: timestamps from the seeded clock; `wall`: the real time of emission. Default: simulated when seeded. */
  clock: z.enum(['wall', 'simulated']).optional(),
  /** Where the simulated clock starts; default DEFAULT_SIMULATED_START when seeded, else now. */
  simulatedStart: timestamp.optional(),
  retention: integerIn(1, 10_000_000).default(DEFAULT_RETENTION),
  /** Where the head offset is kept so a restart continues after it; without it offsets start at 1. */
  dataDir: z.string().min(1).optional(),
  keepAliveMs: integerIn(10, 15_000).default(10_000),
  /** A client whose unsent data would pass this is disconnected (it may resume) instead of buffered. */
  maxClientBufferBytes: integerIn(64 * 1024, 1024 * MiB).default(4 * MiB),
  /** Stop producing after this offset. */
  maxEvents: integerIn(1).optional(),
  paused: z.boolean().default(false),
  /** Bearer token required on `/events` and `/stream` (401 without it); `/health` and `/metrics` stay open. */
  token: z.string().trim().min(1, { error: 'must not be empty' }).optional(),
  /** Behave like the old source: a shared queue, resume ignored, offsets from 1 on every start. */
  legacy: z.boolean().default(false),
  ...faultsSchema.shape,
});

/** Feeds one process serves at most: each is cheap while quiet, but not free (a producer, a retention ring). */
export const MAX_FEEDS = 1_000;
export const feedsSchema = integerIn(1, MAX_FEEDS);

/** `feed-007`: the feed's name and the last part of its path, zero-padded to at least 3 digits. */
export function feedName(number: number): string {
  return `feed-${String(number).padStart(3, '0')}`;
}

/** Events retained for replay, in all, by the feeds of a many-feed API unless `retention` says otherwise. */
const FEEDS_RETENTION_TOTAL = 200_000;
const FEED_RETENTION_MIN = 1_000;

/** A feed's default retention when `feeds` share one process: its share of the total, at least a thousand, at most the one-feed default. */
export function feedsRetention(feeds: number): number {
  return Math.min(DEFAULT_RETENTION, Math.max(FEED_RETENTION_MIN, Math.floor(FEEDS_RETENTION_TOTAL / feeds)));
}

/** What callers pass: every field optional, numbers also as text. */
export type EventApiOptions = z.input<typeof eventApiOptionsSchema>;
export type ResolvedEventApiOptions = z.output<typeof eventApiOptionsSchema>;

/** Just the fault flags of a set of options. */
export function faultsOf(options: Faults): Faults {
  const { dropEvery, malformedRate, invalidRate, duplicateRate, childrenFirstRate } = options;
  return { dropEvery, malformedRate, invalidRate, duplicateRate, childrenFirstRate };
}

export function clockOf(options: ResolvedEventApiOptions): Clock {
  return options.clock ?? (options.seed === undefined ? 'wall' : 'simulated');
}

/** The simulated arrivals run at the configured rate; "as fast as possible" has none, so its clock runs as at the default. */
export function timelineRate(rate: Rate): number {
  return rate === 'max' ? DEFAULT_RATE : rate;
}

export function simulatedStartOf(options: ResolvedEventApiOptions): Micros {
  if (options.simulatedStart !== undefined) return parseTimestamp(options.simulatedStart);
  return options.seed === undefined ? wallClockMicros() : parseTimestamp(DEFAULT_SIMULATED_START);
}
