import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { StackConfig } from '../config/env.js';
import { pauseSignal, pollNowSignal, resumeSignal, rewindUpdate, statusQuery } from '../workflows/messages.js';
import { INGEST_MODES, WORKFLOW_TYPES, type IngestMode, type IngestionStatus, type IngestionTuning, type RewindResult, type StreamIngestionInput } from '../contracts/ingestion.js';

export function workflowIdFor(config: StackConfig, mode: IngestMode): string {
  return mode === 'realtime' ? config.REALTIME_WORKFLOW_ID : config.POLLING_WORKFLOW_ID;
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

export interface StartRequest {
  mode: IngestMode;
  sourceUrl: string;
  /** Move the checkpoint here first; otherwise continue from the committed checkpoint. */
  fromOffset?: number;
}

/** Starts the ingestion workflow unless one with its id is already running (never a duplicate). */
export async function ensureIngestionRunning(client: Client, config: StackConfig, request: StartRequest): Promise<{ workflowId: string; created: boolean }> {
  const workflowId = workflowIdFor(config, request.mode);
  const input: StreamIngestionInput = { sourceUrl: request.sourceUrl, tuning: tuningFrom(config), startFrom: request.fromOffset };
  try {
    await client.workflow.start(WORKFLOW_TYPES[request.mode], {
      workflowId,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      staticSummary: `${request.mode} ingestion of ${request.sourceUrl} into the warehouse`,
    });
    return { workflowId, created: true };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, created: false };
    throw error;
  }
}

/** The running workflows among the two modes' ids, or the one `mode` names. */
async function runningHandles(client: Client, config: StackConfig, mode?: IngestMode): Promise<Array<{ mode: IngestMode; handle: WorkflowHandle }>> {
  const modes = mode ? [mode] : INGEST_MODES;
  const found: Array<{ mode: IngestMode; handle: WorkflowHandle }> = [];
  for (const candidate of modes) {
    const handle = client.workflow.getHandle(workflowIdFor(config, candidate));
    try {
      const description = await handle.describe();
      if (description.status.name === 'RUNNING') found.push({ mode: candidate, handle });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
  return found;
}

export class IngestionNotRunning extends Error {
  override name = 'IngestionNotRunning';
}

async function oneRunning(client: Client, config: StackConfig, mode?: IngestMode): Promise<{ mode: IngestMode; handle: WorkflowHandle }> {
  const running = await runningHandles(client, config, mode);
  if (running.length === 0) throw new IngestionNotRunning(`no ingestion workflow is running${mode ? ` in ${mode} mode` : ''}; start one with \`restaurant-stack ingest start\``);
  if (running.length > 1) throw new Error('both the realtime and the polling workflow are running: say which with --mode');
  return running[0]!;
}

export async function ingestionStatuses(client: Client, config: StackConfig, mode?: IngestMode): Promise<IngestionStatus[]> {
  const running = await runningHandles(client, config, mode);
  return Promise.all(running.map(({ handle }) => handle.query(statusQuery)));
}

export async function pauseIngestion(client: Client, config: StackConfig, reason: string, mode?: IngestMode): Promise<string> {
  const { handle } = await oneRunning(client, config, mode);
  await handle.signal(pauseSignal, { reason });
  return handle.workflowId;
}

export async function resumeIngestion(client: Client, config: StackConfig, reason: string, mode?: IngestMode): Promise<string> {
  const { handle } = await oneRunning(client, config, mode);
  await handle.signal(resumeSignal, { reason });
  return handle.workflowId;
}

export async function pollNow(client: Client, config: StackConfig): Promise<string> {
  const { handle } = await oneRunning(client, config, 'polling');
  await handle.signal(pollNowSignal);
  return handle.workflowId;
}

export async function rewindIngestion(client: Client, config: StackConfig, offset: number, epoch?: number, mode?: IngestMode): Promise<RewindResult> {
  const { handle } = await oneRunning(client, config, mode);
  return handle.executeUpdate(rewindUpdate, { args: [{ offset, epoch }] });
}

/** Cancels the workflow: the in-flight session stops cleanly and the workflow ends with its final status. */
export async function stopIngestion(client: Client, config: StackConfig, mode?: IngestMode): Promise<IngestionStatus> {
  const { handle } = await oneRunning(client, config, mode);
  await handle.cancel();
  return (await handle.result()) as IngestionStatus;
}
