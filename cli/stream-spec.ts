import type { StackConfig } from '../config/env.js';
import { defaultStreamName, loadStreamsFile, streamsFilePath, tuningFrom, type StreamSpec } from '../config/streams.js';
import { streamNameSchema, type IngestMode } from '../contracts/ingestion.js';
import { readRuntimeState } from '../stack/runtime-state.js';
import { parseOption } from './options.js';

export interface StreamFlags {
  stream?: string;
  source?: string;
  mode?: IngestMode;
}

/** The source of the single feed: RESTAURANT_API_URL, else the running stack's event API, else the default port. */
export function configuredSourceUrl(config: StackConfig): string {
  return config.RESTAURANT_API_URL ?? readRuntimeState(config.DATA_DIR)?.apiUrl ?? `http://127.0.0.1:${config.API_PORT}`;
}

/**
 * What `ingest start` and `ingest restart` run: the flags, over the stream's entry in the streams file,
 * over the environment (the single feed's source and the INGEST_* tuning).
 */
export function resolveStreamSpec(config: StackConfig, flags: StreamFlags): StreamSpec {
  const name = flags.stream === undefined ? defaultStreamName(config) : parseOption('--stream', streamNameSchema, flags.stream);
  const file = streamsFilePath(config);
  const fromFile = file ? loadStreamsFile(file, config).find((spec) => spec.name === name) : undefined;
  const sourceUrl = flags.source ?? fromFile?.sourceUrl ?? (name === defaultStreamName(config) ? configuredSourceUrl(config) : undefined);
  if (!sourceUrl) throw new Error(`stream ${name} is not in ${file ?? 'a streams file'}: give its source with --source URL`);
  return {
    name,
    sourceUrl,
    mode: flags.mode ?? fromFile?.mode ?? 'realtime',
    tokenEnv: fromFile?.tokenEnv,
    tuning: fromFile?.tuning ?? tuningFrom(config),
  };
}
