import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { StackConfig } from '../config/env.js';
import { defaultStreamName } from '../config/streams.js';
import { pauseSignal, pollNowSignal, resumeSignal, rewindUpdate } from '../workflows/messages.js';
import {
  INGEST_MODES,
  STREAM_WORKFLOW_ID_PREFIX,
  WORKFLOW_TYPES,
  type IngestMode,
  type IngestionStatus,
  type IngestionTuning,
  type RewindResult,
  type StreamIngestionInput,
  type StreamStatus,
} from '../contracts/ingestion.js';
import { streamStatusAt, workflowFacts } from './stream-status.js';

/**
 * The workflow id of a stream in a mode: the single feed keeps the old DAG ids (REALTIME_WORKFLOW_ID,
 * POLLING_WORKFLOW_ID); every other stream has one id whatever its mode, so Temporal itself refuses a
 * second workflow for it.
 */
export function workflowIdFor(config: StackConfig, stream: string, mode: IngestMode): string {
  if (stream === defaultStreamName(config)) return mode === 'realtime' ? config.REALTIME_WORKFLOW_ID : config.POLLING_WORKFLOW_ID;
  return `${STREAM_WORKFLOW_ID_PREFIX}${stream}`;
}

/** The stream a workflow id reads, as far as the id tells (the workflow's `status` query says for sure). */
export function streamOfWorkflowId(config: StackConfig, workflowId: string): string {
  if (workflowId === config.POLLING_WORKFLOW_ID) return defaultStreamName(config);
  return workflowId.startsWith(STREAM_WORKFLOW_ID_PREFIX) ? workflowId.slice(STREAM_WORKFLOW_ID_PREFIX.length) : workflowId;
}

export interface StartRequest {
  stream: string;
  mode: IngestMode;
  sourceUrl: string;
  tuning: IngestionTuning;
  /** Name of the environment variable holding the source's token on the workers. */
  tokenEnv?: string;
  /** Move the checkpoint here first; otherwise continue from the committed checkpoint. */
  fromOffset?: number;
}

export interface RunningStream {
  stream: string;
  mode: IngestMode;
  workflowId: string;
  handle: WorkflowHandle;
}

export type StartOutcome = { created: true; workflowId: string } | { created: false; workflowId: string; running: RunningStream };

/** Starts a stream's workflow unless the stream is already read (in either mode): never a duplicate. */
export async function ensureStreamRunning(client: Client, config: StackConfig, request: StartRequest): Promise<StartOutcome> {
  const [running] = await runningStreams(client, config, { stream: request.stream });
  if (running) return { created: false, workflowId: running.workflowId, running };
  const workflowId = workflowIdFor(config, request.stream, request.mode);
  const input: StreamIngestionInput = {
    stream: request.stream,
    sourceUrl: request.sourceUrl,
    tuning: request.tuning,
    sourceCredentials: request.tokenEnv ? { tokenEnv: request.tokenEnv } : undefined,
    startFrom: request.fromOffset,
  };
  try {
    await client.workflow.start(WORKFLOW_TYPES[request.mode], {
      workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: `${request.mode} ingestion of stream ${request.stream} from ${request.sourceUrl}`,
    });
    return { created: true, workflowId };
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return { created: false, workflowId, running: { stream: request.stream, mode: request.mode, workflowId, handle: client.workflow.getHandle(workflowId) } };
  }
}

async function isRunning(handle: WorkflowHandle): Promise<{ running: boolean; type?: string }> {
  try {
    const description = await handle.describe();
    return { running: description.status.name === 'RUNNING', type: description.type };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { running: false };
    throw error;
  }
}

const modeOfType = (type: string | undefined): IngestMode | undefined => INGEST_MODES.find((mode) => WORKFLOW_TYPES[mode] === type);

/** Which streams a command acts on: one by name, every running one, or (neither) the single feed. */
export interface StreamSelector {
  stream?: string;
  all?: boolean;
  mode?: IngestMode;
}

/**
 * The running ingestion workflows a selector names. `all` asks Temporal's visibility for every running
 * ingestion workflow on this stack's task queue; a named stream is looked up by its workflow ids.
 */
export async function runningStreams(client: Client, config: StackConfig, selector: StreamSelector = {}): Promise<RunningStream[]> {
  const found = new Map<string, RunningStream>();
  const consider = async (workflowId: string) => {
    if (found.has(workflowId)) return;
    const handle = client.workflow.getHandle(workflowId);
    const { running, type } = await isRunning(handle);
    const mode = modeOfType(type);
    if (running && mode) found.set(workflowId, { stream: streamOfWorkflowId(config, workflowId), mode, workflowId, handle });
  };
  if (selector.all) {
    const types = Object.values(WORKFLOW_TYPES)
      .map((type) => `'${type}'`)
      .join(', ');
    const query = `WorkflowType IN (${types}) AND ExecutionStatus = 'Running' AND TaskQueue = '${config.TEMPORAL_TASK_QUEUE}'`;
    for await (const execution of client.workflow.list({ query })) {
      const mode = modeOfType(execution.type);
      const { workflowId } = execution;
      if (mode) found.set(workflowId, { stream: streamOfWorkflowId(config, workflowId), mode, workflowId, handle: client.workflow.getHandle(workflowId) });
    }
  }
  const named = selector.stream ?? (selector.all ? undefined : defaultStreamName(config));
  if (named !== undefined || selector.all) {
    const stream = named ?? defaultStreamName(config);
    for (const mode of INGEST_MODES) await consider(workflowIdFor(config, stream, mode));
  }
  return [...found.values()].filter((entry) => !selector.mode || entry.mode === selector.mode).sort((a, b) => a.stream.localeCompare(b.stream));
}

export class IngestionNotRunning extends Error {
  override name = 'IngestionNotRunning';
}

async function selected(client: Client, config: StackConfig, selector: StreamSelector): Promise<RunningStream[]> {
  const running = await runningStreams(client, config, selector);
  if (running.length > 0) return running;
  const what = selector.all ? 'no ingestion workflow is running' : `stream ${selector.stream ?? defaultStreamName(config)} is not being ingested${selector.mode ? ` in ${selector.mode} mode` : ''}`;
  const others = selector.all ? [] : await runningStreams(client, config, { all: true });
  const hint = others.length > 0 ? ` (running: ${others.map((entry) => entry.stream).join(', ')}; name one with --stream, or --all)` : '; start it with `restaurant-stack ingest start`';
  throw new IngestionNotRunning(`${what}${hint}`);
}

async function exactlyOne(client: Client, config: StackConfig, selector: StreamSelector): Promise<RunningStream> {
  if (selector.all) throw new Error('this command acts on one stream: name it with --stream');
  const running = await selected(client, config, selector);
  if (running.length > 1) throw new Error(`stream ${running[0]!.stream} is read by ${running.map((entry) => entry.workflowId).join(' and ')}: say which with --mode`);
  return running[0]!;
}

/** Each selected stream's status as it stands now (see stream-status.ts): its workflow's status query and its pending work. */
export async function ingestionStatuses(client: Client, config: StackConfig, selector: StreamSelector = { all: true }): Promise<StreamStatus[]> {
  const running = await runningStreams(client, config, selector);
  return Promise.all(running.map(async (entry) => streamStatusAt(await workflowFacts(client, entry), client.options.loadedDataConverter.payloadConverter, Date.now())));
}

export async function pauseIngestion(client: Client, config: StackConfig, reason: string, selector: StreamSelector = {}): Promise<RunningStream[]> {
  const running = await selected(client, config, selector);
  await Promise.all(running.map(({ handle }) => handle.signal(pauseSignal, { reason })));
  return running;
}

export async function resumeIngestion(client: Client, config: StackConfig, reason: string, selector: StreamSelector = {}): Promise<RunningStream[]> {
  const running = await selected(client, config, selector);
  await Promise.all(running.map(({ handle }) => handle.signal(resumeSignal, { reason })));
  return running;
}

export async function pollNow(client: Client, config: StackConfig, selector: StreamSelector = {}): Promise<RunningStream[]> {
  const running = await selected(client, config, { ...selector, mode: 'polling' });
  await Promise.all(running.map(({ handle }) => handle.signal(pollNowSignal)));
  return running;
}

export async function rewindIngestion(client: Client, config: StackConfig, offset: number, epoch?: number, selector: StreamSelector = {}): Promise<RewindResult> {
  const { handle } = await exactlyOne(client, config, selector);
  return handle.executeUpdate(rewindUpdate, { args: [{ offset, epoch }] });
}

/** Cancels the workflows: each in-flight session stops cleanly and each workflow ends with its final status. */
export async function stopIngestion(client: Client, config: StackConfig, selector: StreamSelector = {}): Promise<IngestionStatus[]> {
  const running = await selected(client, config, selector);
  return Promise.all(
    running.map(async ({ handle }) => {
      await handle.cancel();
      return (await handle.result()) as IngestionStatus;
    }),
  );
}

export interface RestartOutcome {
  stopped: IngestionStatus;
  workflowId: string;
}

/**
 * Stops a stream's workflow and starts it again as `request` says (another source, mode or tuning).
 * The stream keeps its checkpoint; its first session checks the source still holds the event at the
 * checkpoint, and continues in a new source epoch from offset 1 when it does not (another source).
 */
export async function restartStream(client: Client, config: StackConfig, request: StartRequest): Promise<RestartOutcome> {
  const [stopped] = await stopIngestion(client, config, { stream: request.stream });
  const started = await ensureStreamRunning(client, config, request);
  if (!started.created) throw new Error(`stream ${request.stream} was started again meanwhile, by ${started.workflowId}`);
  return { stopped: stopped!, workflowId: started.workflowId };
}
