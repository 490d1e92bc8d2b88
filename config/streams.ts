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
  const seen = new Set<string>();
  return outline.data.streams.map((entry, index) => {
    const label = typeof (entry as { name?: unknown } | null)?.name === 'string' ? `stream ${(entry as { name: string }).name}` : `stream #${index + 1}`;
    const parsed = streamSpecSchema.safeParse(entry);
    if (!parsed.success) throw new ConfigError(`${shown}: ${label}: ${describeIssues(parsed.error, entry, { root: 'stream' })}`);
    const { name, source, mode, tokenEnv, tuning } = parsed.data;
    if (seen.has(name)) throw new ConfigError(`${shown}: ${label}: name: used by another stream of the file`);
    seen.add(name);
    return { name, sourceUrl: source, mode, tokenEnv, tuning: { ...tuningFrom(config), ...tuning } };
  });
}
