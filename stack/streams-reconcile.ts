import type { Client } from '@temporalio/client';
import type { StackConfig } from '../config/env.js';
import { defaultStreamName, type StreamSpec } from '../config/streams.js';
import { ensureStreamRunning, runningStreams } from '../clients/ingestion-control.js';
import { hasSearchAttribute } from '../temporal/search-attributes.js';
import { STREAM_SEARCH_ATTRIBUTE, type IngestionStatus, type IngestionTuning, type StreamPosition } from '../contracts/ingestion.js';
import { statusQuery } from '../workflows/messages.js';
import type { LineSink } from './child-process.js';

const sameUrl = (a: string, b: string) => new URL(a).href === new URL(b).href;

/**
 * How a running stream differs from its configuration, as lines an operator can act on: each names
 * what the workflow does and what is configured, and the exact command that switches.
 */
export function describeDrift(config: StackConfig, spec: StreamSpec, status: IngestionStatus, committed?: StreamPosition | null): string[] {
  const streamFlag = spec.name === defaultStreamName(config) ? '' : ` --stream ${spec.name}`;
  const lines: string[] = [];
  const restartFlags: string[] = [];
  const differences: string[] = [];
  if (!sameUrl(status.sourceUrl, spec.sourceUrl)) {
    differences.push(`reads ${status.sourceUrl} but ${spec.sourceUrl} is configured`);
    restartFlags.push(`--source ${spec.sourceUrl}`);
  }
  if (status.mode !== spec.mode) {
    differences.push(`runs in ${status.mode} mode but ${spec.mode} is configured`);
    restartFlags.push(`--mode ${spec.mode}`);
  }
  const tuning = (Object.keys(spec.tuning) as Array<keyof IngestionTuning>).filter((key) => status.tuning[key] !== spec.tuning[key]);
  if (tuning.length > 0) differences.push(`runs with ${tuning.map((key) => `${key} ${status.tuning[key]}`).join(', ')} but ${tuning.map((key) => `${key} ${spec.tuning[key]}`).join(', ')} is configured`);
  // The workflow's position only moves after its commit: a warehouse whose checkpoint is behind it is not the one it wrote to.
  if (committed !== undefined && status.position.offset > (committed?.offset ?? 0)) {
    differences.push(`is at offset ${status.position.offset} but this warehouse's checkpoint is at ${committed?.offset ?? 0} (it wrote to another warehouse)`);
  }
  if (differences.length > 0) {
    lines.push(`stream ${spec.name}: workflow ${status.workflowId} ${differences.join('; ')}; switch with: npx restaurant-stack ingest restart${streamFlag}${restartFlags.map((flag) => ` ${flag}`).join('')}`);
  }
  if (status.paused) {
    lines.push(`stream ${spec.name}: workflow ${status.workflowId} is paused since ${status.paused.since} (${status.paused.reason}); resume with: npx restaurant-stack ingest resume${streamFlag}`);
  }
  return lines;
}

/** How many streams are reconciled at once. */
const STREAMS_AT_ONCE = 16;

/** One configured stream: its workflow started, or the running one compared with the configuration. */
async function reconcileStream(client: Client, config: StackConfig, spec: StreamSpec, checkpointOf?: (stream: string) => Promise<StreamPosition | null>): Promise<string[]> {
  const lines: string[] = [];
  if (spec.tokenEnv && !process.env[spec.tokenEnv]) lines.push(`stream ${spec.name}: ${spec.tokenEnv} is not set here; the workers need it to read ${spec.sourceUrl}`);
  const outcome = await ensureStreamRunning(client, config, { stream: spec.name, mode: spec.mode, sourceUrl: spec.sourceUrl, tuning: spec.tuning, tokenEnv: spec.tokenEnv });
  if (outcome.created) return [...lines, `started ingestion workflow ${outcome.workflowId}: stream ${spec.name} (${spec.mode}) from ${spec.sourceUrl}`];
  let status: IngestionStatus;
  try {
    status = await outcome.running.handle.query(statusQuery);
  } catch (error) {
    return [...lines, `ingestion workflow ${outcome.workflowId} is already running (its status did not answer: ${(error as Error).message})`];
  }
  const drift = describeDrift(config, spec, status, checkpointOf ? await checkpointOf(spec.name) : undefined);
  if (drift.length === 0) lines.push(`ingestion workflow ${outcome.workflowId} is already running: stream ${spec.name} (${status.mode}) from ${status.sourceUrl}, as configured`);
  return [...lines, ...drift];
}

/**
 * `up`'s part for ingestion: every configured stream has its workflow — started when none reads it,
 * kept when one does, with any difference from the configuration (source, mode, tuning) or a pause
 * reported on one line with the command that switches.
 */
export async function reconcileStreams(
  client: Client,
  config: StackConfig,
  specs: readonly StreamSpec[],
  sink: LineSink,
  /** The warehouse's checkpoint of a stream, to notice a workflow that wrote to another warehouse. */
  checkpointOf?: (stream: string) => Promise<StreamPosition | null>,
): Promise<void> {
  if (!(await hasSearchAttribute(client, STREAM_SEARCH_ATTRIBUTE).catch(() => false))) {
    sink(
      `the namespace has no ${STREAM_SEARCH_ATTRIBUTE} search attribute, so streams are listed by workflow type only; add it with: temporal operator search-attribute create --namespace ${config.TEMPORAL_NAMESPACE} --name ${STREAM_SEARCH_ATTRIBUTE} --type Keyword`,
    );
  }
  // Streams are started a few at a time (one at a time, 200 took 93 s); the lines come out in the file's order.
  const lines: string[][] = [];
  let next = 0;
  const reconcileNext = async () => {
    for (let at = next++; at < specs.length; at = next++) lines[at] = await reconcileStream(client, config, specs[at]!, checkpointOf);
  };
  await Promise.all(Array.from({ length: Math.min(STREAMS_AT_ONCE, specs.length) }, reconcileNext));
  for (const line of lines.flat()) sink(line);
  const configured = new Set(specs.map((spec) => spec.name));
  const others = (await runningStreams(client, config, { all: true })).filter((entry) => !configured.has(entry.stream));
  for (const other of others) sink(`also running, not in the configuration: stream ${other.stream} (${other.workflowId}); stop it with: npx restaurant-stack ingest stop --stream ${other.stream}`);
}
