import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { INGEST_MODES, envVarNameSchema, ingestionTuningSchema, streamNameSchema, type IngestMode, type IngestionTuning } from '../contracts/ingestion.js';
import { describeIssues } from '../events/issues.js';
import { ConfigError, projectRoot, type StackConfig } from './env.js';

/** One feed of the streams file: its own source, offsets, checkpoint and workflow. */
export const streamSpecSchema = z.strictObject({
  name: streamNameSchema,
  source: z.url({ protocol: /^https?$/, error: 'an http(s) URL of the event source, e.g. http://127.0.0.1:8000' }),
  mode: z.enum(INGEST_MODES).default('realtime'),
  /** The environment variable (on the workers) holding the source's API token: a name, never the token. */
  tokenEnv: envVarNameSchema.optional(),
  tuning: ingestionTuningSchema.partial().strict().optional(),
});

const streamsFileSchema = z.strictObject({ streams: z.array(z.unknown()).min(1, 'lists no stream') });

/** Fields of a stream entry that may carry a range: `name: feed-{001..200}` is 200 streams. */
const RANGE_FIELDS = ['name', 'source', 'tokenEnv'] as const;
const MAX_RANGE_STREAMS = 1_000;
const BRACES = /\{[^{}]*\}/g;

/** `{001..200}`: the numbers FIRST to LAST, zero-padded to the width written when either is (as a shell's brace expansion does). */
const streamRangeSchema = z
  .string()
  .regex(/^\{\d{1,9}\.\.\d{1,9}\}$/, { error: 'a range is written {FIRST..LAST}, e.g. {001..200}' })
  .transform((text) => {
    const [first, last] = text.slice(1, -1).split('..') as [string, string];
    const padded = /^0\d/.test(first) || /^0\d/.test(last);
    return { text, first: Number(first), last: Number(last), width: padded ? Math.max(first.length, last.length) : 0 };
  })
  .refine(({ first, last }) => first <= last, { error: 'the range runs backwards: FIRST must not be above LAST' })
  .refine(({ first, last }) => last - first < MAX_RANGE_STREAMS, { error: `a range makes at most ${MAX_RANGE_STREAMS} streams` });

/**
 * One entry of the file as the streams it stands for: itself, or with a range in its name one stream per
 * number, the range replaced alike in name, source and tokenEnv (`source: http://h:8100/feeds/feed-{001..200}`).
 */
function expandRange(entry: unknown, fail: (field: string, message: string) => never): unknown[] {
  if (typeof entry !== 'object' || entry === null) return [entry];
  const fields = entry as Record<string, unknown>;
  const ranges = new Map<string, string>();
  for (const field of RANGE_FIELDS) {
    const value = fields[field];
    for (const group of typeof value === 'string' ? (value.match(BRACES) ?? []) : []) {
      const parsed = streamRangeSchema.safeParse(group);
      if (!parsed.success) fail(field, `${parsed.error.issues[0]?.message ?? 'not a range'} (got "${group}")`);
      const other = [...ranges.values()].find((text) => text !== group);
      if (other !== undefined) fail(field, `every range of one stream must be the same; found ${other} and ${group}`);
      ranges.set(field, group);
    }
  }
  if (ranges.size === 0) return [entry];
  const [field] = ranges.keys();
  if (!ranges.has('name')) fail(field!, 'a range here needs the same range in name, so that each stream has a name of its own');
  const { text, first, last, width } = streamRangeSchema.parse(ranges.get('name'));
  return Array.from({ length: last - first + 1 }, (_, index) => {
    const number = String(first + index).padStart(width, '0');
    const stream = { ...fields };
    for (const name of ranges.keys()) stream[name] = (fields[name] as string).replaceAll(text, number);
    return stream;
  });
}

/** A stream as `up` and `ingest start` run it: tuning filled in from the environment's INGEST_* settings. */
export interface StreamSpec {
  name: string;
  sourceUrl: string;
  mode: IngestMode;
  tokenEnv?: string;
  tuning: IngestionTuning;
}

export function tuningFrom(config: StackConfig): IngestionTuning {
  return {
    maxBatchEvents: config.INGEST_MAX_BATCH_EVENTS,
    maxBatchWaitMs: config.INGEST_MAX_BATCH_WAIT_MS,
    sessionSeconds: config.INGEST_SESSION_SECONDS,
    pollIntervalSeconds: config.POLL_INTERVAL_SECONDS,
    pageSize: config.INGEST_PAGE_SIZE,
  };
}

/** The single feed of a user without a streams file: `restaurant_realtime_stream` (REALTIME_WORKFLOW_ID). */
export function defaultStreamName(config: StackConfig): string {
  return config.REALTIME_WORKFLOW_ID;
}

/** The single feed of a user without a streams file, from `sourceUrl` in INGEST_MODE (`none`: no stream). */
export function singleFeed(config: StackConfig, sourceUrl: string): StreamSpec[] {
  return config.INGEST_MODE === 'none' ? [] : [{ name: defaultStreamName(config), sourceUrl, mode: config.INGEST_MODE, tuning: tuningFrom(config) }];
}

/** The streams file `up` reads: STREAMS_FILE, else `streams.yaml` in the project root when there is one. */
export function streamsFilePath(config: StackConfig): string | undefined {
  if (config.STREAMS_FILE) return config.STREAMS_FILE;
  const conventional = path.join(projectRoot, 'streams.yaml');
  return existsSync(conventional) ? conventional : undefined;
}

/** Reads and validates a streams file; any problem is one ConfigError line naming the stream and field. */
export function loadStreamsFile(file: string, config: StackConfig): StreamSpec[] {
  const shown = path.relative(process.cwd(), file) || file;
  let document: unknown;
  try {
    document = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message.split('\n')[0];
    throw new ConfigError(`${shown}: ${reason}`);
  }
  const outline = streamsFileSchema.safeParse(document);
  if (!outline.success) throw new ConfigError(`${shown}: ${describeIssues(outline.error, document, { root: 'file' })}`);
  const labelOf = (entry: unknown, index: number) => (typeof (entry as { name?: unknown } | null)?.name === 'string' ? `stream ${(entry as { name: string }).name}` : `stream #${index + 1}`);
  const entries = outline.data.streams.flatMap((entry, index) =>
    expandRange(entry, (field, message) => {
      throw new ConfigError(`${shown}: ${labelOf(entry, index)}: ${field}: ${message}`);
    }).map((stream) => ({ stream, index })),
  );
  const seen = new Set<string>();
  return entries.map(({ stream: entry, index }) => {
    const label = labelOf(entry, index);
    const parsed = streamSpecSchema.safeParse(entry);
    if (!parsed.success) throw new ConfigError(`${shown}: ${label}: ${describeIssues(parsed.error, entry, { root: 'stream' })}`);
    const { name, source, mode, tokenEnv, tuning } = parsed.data;
    if (seen.has(name)) throw new ConfigError(`${shown}: ${label}: name: used by another stream of the file`);
    seen.add(name);
    return { name, sourceUrl: source, mode, tokenEnv, tuning: { ...tuningFrom(config), ...tuning } };
  });
}
