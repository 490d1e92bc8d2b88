import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import type { PayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import { statusQuery } from '../workflows/messages.js';
import {
  SESSION_HEARTBEAT_THROTTLE_SECONDS,
  UNREAD_AFTER_SECONDS,
  type IngestMode,
  type IngestionStatus,
  type SessionActivityTimes,
  type SessionReport,
  type StreamState,
  type StreamStatus,
} from '../contracts/ingestion.js';

/** The states of temporal.api.enums.v1.PendingActivityState and PendingWorkflowTaskState that matter here, as the API numbers them. */
const ACTIVITY_SCHEDULED = 1;
const ACTIVITY_STARTED = 2;
const ACTIVITY_CANCEL_REQUESTED = 3;
const WORKFLOW_TASK_SCHEDULED = 1;

/** The activities that read a stream; the others (claim, checkpoint) are short steps between them. */
const SESSION_ACTIVITIES = new Set(['consumeStream', 'pollStream']);

/** A shorter wait is a workflow handing over from one session to the next, not a stream waiting for a worker. */
const WAIT_NOTICED_MS = 1_000;

/** A status query is answered by a worker in milliseconds; the server would hold one no worker takes for 30 s. */
const QUERY_DEADLINE_MS = 10_000;

/** History events read back (newest first) to find the last finished session when the workflow cannot answer. */
const HISTORY_LOOKBACK_EVENTS = 50;

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function latest(...times: Array<string | null | undefined>): string | null {
  const known = times.filter((time): time is string => typeof time === 'string' && !Number.isNaN(Date.parse(time)));
  return known.length === 0 ? null : known.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
}

function decode<T>(payload: unknown, payloads: PayloadConverter): T | undefined {
  try {
    return payloads.fromPayload<T>(payload as Parameters<PayloadConverter['fromPayload']>[0]);
  } catch {
    // Encoded by a codec this client does not hold: the workflow's own figures stand.
    return undefined;
  }
}

/** What Temporal tells of a workflow when asked: its description, and its status query's answer or why there is none. */
export interface WorkflowFacts {
  workflowId: string;
  mode: IngestMode;
  stream: string;
  description: WorkflowExecutionDescription;
  answer: IngestionStatus | { unanswered: string; lastReport: SessionReport | null };
}

/** Since when the workflow's next task has waited for a worker, if it has for a noticeable while. */
function workflowTaskWaitingSince(description: WorkflowExecutionDescription, now: number): number | undefined {
  const task = description.raw.pendingWorkflowTask;
  if (!task || Number(task.state) !== WORKFLOW_TASK_SCHEDULED) return undefined;
  const since = optionalTsToMs(task.originalScheduledTime ?? task.scheduledTime);
  return since !== undefined && now - since >= WAIT_NOTICED_MS ? since : undefined;
}

/** The newest report of a finished session in the workflow's current run, read back from its history. */
async function lastSessionReport(client: Client, workflowId: string): Promise<SessionReport | null> {
  const { history } = await client.workflowService.getWorkflowExecutionHistoryReverse({
    namespace: client.options.namespace,
    execution: { workflowId },
    maximumPageSize: HISTORY_LOOKBACK_EVENTS,
  });
  for (const event of history?.events ?? []) {
    const result = event.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    const report = result ? decode<Partial<SessionReport> | null>(result, client.options.loadedDataConverter.payloadConverter) : undefined;
    if (report && typeof report.endedAt === 'string' && report.position) return report as SessionReport;
  }
  return null;
}

/**
 * Asks Temporal about a running ingestion workflow now. A workflow whose task no worker has taken
 * cannot answer its status query: it is not asked, and its last finished session comes from its history.
 */
export async function workflowFacts(client: Client, running: { workflowId: string; mode: IngestMode; stream: string; handle: WorkflowHandle }): Promise<WorkflowFacts> {
  const { workflowId, mode, stream, handle } = running;
  const description = await handle.describe();
  const unanswered = async (reason: string) => ({ unanswered: reason, lastReport: await lastSessionReport(client, workflowId) });
  let answer: WorkflowFacts['answer'];
  const noWorker = (since: number) => unanswered(`no worker has taken the workflow's task since ${new Date(since).toISOString()}: is a worker polling task queue ${description.taskQueue}?`);
  const waitingSince = workflowTaskWaitingSince(description, Date.now());
  if (waitingSince !== undefined) {
    answer = await noWorker(waitingSince);
  } else {
    try {
      answer = await client.connection.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(statusQuery));
    } catch (error) {
      // A worker that has just gone leaves no task pending until Temporal reschedules it off its queue:
      // the failed query is then the first sign, and the workflow's state right after tells why.
      const since = workflowTaskWaitingSince(await handle.describe(), Date.now());
      answer = await (since !== undefined ? noWorker(since) : unanswered(`the workflow did not answer its status query: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  return { workflowId, mode, stream, description, answer };
}

/**
 * A stream's status at `now`, from what Temporal said of its workflow: the workflow's own status (its
 * last session's report), and its pending work — the session running now (its last heartbeat says when
 * it last read and committed), or a session or workflow task no worker has taken yet. The workflow's
 * state and lag are replaced by what those facts say now.
 */
export function streamStatusAt(facts: WorkflowFacts, payloads: PayloadConverter, now: number): StreamStatus {
  const { description, answer } = facts;
  const status = 'unanswered' in answer ? undefined : answer;
  const pending = description.raw.pendingActivities ?? [];
  const activity = pending.find((candidate) => SESSION_ACTIVITIES.has(candidate.activityType?.name ?? '')) ?? pending[0];
  const started = activity !== undefined && (Number(activity.state) === ACTIVITY_STARTED || Number(activity.state) === ACTIVITY_CANCEL_REQUESTED);
  const readingSession = started && SESSION_ACTIVITIES.has(activity.activityType?.name ?? '');
  const times = (readingSession && activity.heartbeatDetails?.payloads?.[0] && decode<SessionActivityTimes | null>(activity.heartbeatDetails.payloads[0], payloads)) || {};
  const sessionStartedMs = readingSession ? optionalTsToMs(activity.lastStartedTime) : undefined;

  // A retry's attempt scheduled ahead is a workflow recovering, not yet waiting for a worker.
  const scheduledMs = activity && Number(activity.state) === ACTIVITY_SCHEDULED ? optionalTsToMs(activity.scheduledTime) : undefined;
  const waitingSinceMs = activity ? (scheduledMs !== undefined && now - scheduledMs >= WAIT_NOTICED_MS ? scheduledMs : undefined) : workflowTaskWaitingSince(description, now);

  const lastReport = 'unanswered' in answer ? answer.lastReport : undefined;
  const lastReadAt = latest(times.lastReadAt, status?.lastSessionEndedAt ?? lastReport?.endedAt);
  const lastCommittedAt = latest(times.lastCommittedAt, status?.lastBatchAt ?? lastReport?.lastBatchAt);
  const ago = (time: string | null) => (time === null ? null : seconds(Math.max(0, now - Date.parse(time))));
  const secondsSinceLastRead = ago(lastReadAt);

  let state: StreamState = status?.state ?? 'not answering';
  if (!status?.paused) {
    if (waitingSinceMs !== undefined) state = 'waiting for a worker';
    else if (scheduledMs !== undefined && scheduledMs > now) state = 'recovering';
    else if (readingSession) {
      // The session's newest sign of reading: its last read, or its start (it has not read yet).
      const sessionRead = Math.max(times.lastReadAt ? Date.parse(times.lastReadAt) : 0, sessionStartedMs ?? 0);
      state = now - sessionRead <= (UNREAD_AFTER_SECONDS + SESSION_HEARTBEAT_THROTTLE_SECONDS) * 1000 ? 'consuming' : 'not reading';
    }
  }

  const common = {
    workflowId: facts.workflowId,
    mode: facts.mode,
    stream: status?.stream ?? facts.stream,
    state,
    reading: {
      asOf: new Date(now).toISOString(),
      lastReadAt,
      secondsSinceLastRead,
      lastCommittedAt,
      secondsSinceLastCommit: ago(lastCommittedAt),
      waitingForWorkerSince: waitingSinceMs === undefined ? null : new Date(waitingSinceMs).toISOString(),
      session: readingSession
        ? {
            activity: activity.activityType?.name ?? '',
            worker: activity.lastWorkerIdentity ?? '',
            startedAt: sessionStartedMs === undefined ? null : new Date(sessionStartedMs).toISOString(),
            attempt: activity.attempt ?? 1,
          }
        : null,
    },
  };
  if (!status) return { ...common, unanswered: (answer as { unanswered: string }).unanswered };
  return { ...status, ...common, lag: { ...status.lag, seconds: lagSecondsNow(status, state, secondsSinceLastRead, now) } };
}

/**
 * Seconds behind the source now. Caught up at the last report: current up to the last read, so the
 * time since. Behind then: that report's figure while a session reads on, older by the time since the
 * report while none does.
 */
function lagSecondsNow(status: IngestionStatus, state: StreamState, secondsSinceLastRead: number | null, now: number): number | null {
  if (status.lag.events === 0) return secondsSinceLastRead;
  if (status.lag.seconds === null) return null;
  if (state === 'consuming' || status.lastSessionEndedAt === null) return status.lag.seconds;
  return seconds(status.lag.seconds * 1000 + Math.max(0, now - Date.parse(status.lastSessionEndedAt)));
}
