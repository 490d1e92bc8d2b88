import type { WorkflowExecutionDescription } from '@temporalio/client';
import type { PayloadConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import { temporal } from '@temporalio/proto';
import { UNREAD_AFTER_SECONDS, type IngestionStatus, type SessionActivityTimes, type StreamStatus } from '../contracts/ingestion.js';

const { PendingActivityState, PendingWorkflowTaskState } = temporal.api.enums.v1;

/** The activities that read a stream; the others (claim, checkpoint) are short steps between them. */
const SESSION_ACTIVITIES = new Set(['consumeStream', 'pollStream']);

/** A shorter wait is a workflow handing over from one session to the next, not a stream waiting for a worker. */
const WAIT_NOTICED_MS = 1_000;

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function latest(...times: Array<string | null | undefined>): string | null {
  const known = times.filter((time): time is string => typeof time === 'string' && !Number.isNaN(Date.parse(time)));
  return known.length === 0 ? null : known.reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
}

function heartbeatTimes(details: { payloads?: unknown[] | null } | null | undefined, payloads: PayloadConverter): SessionActivityTimes {
  const first = details?.payloads?.[0];
  if (!first) return {};
  try {
    const decoded = payloads.fromPayload<SessionActivityTimes | null>(first);
    return { lastReadAt: decoded?.lastReadAt, lastCommittedAt: decoded?.lastCommittedAt };
  } catch {
    // Encoded by a codec this client does not hold: the workflow's own figures stand.
    return {};
  }
}

/**
 * A stream's status at `now`, from what Temporal says of its workflow at that moment: the workflow's
 * own status (its last session's report), and its pending work — the session running now (its last
 * heartbeat says when it last read and committed), or a session or workflow task no worker has taken
 * yet. The workflow's state and lag are replaced by what those facts say now.
 */
export function streamStatusAt(status: IngestionStatus, description: WorkflowExecutionDescription, payloads: PayloadConverter, now: number): StreamStatus {
  const pending = description.raw.pendingActivities ?? [];
  const activity = pending.find((candidate) => SESSION_ACTIVITIES.has(candidate.activityType?.name ?? '')) ?? pending[0];
  const started = activity !== undefined && (activity.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED || activity.state === PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED);
  const readingSession = started && SESSION_ACTIVITIES.has(activity.activityType?.name ?? '');
  const times = readingSession ? heartbeatTimes(activity.heartbeatDetails, payloads) : {};
  const sessionStartedMs = readingSession ? optionalTsToMs(activity.lastStartedTime) : undefined;

  let waitingSinceMs: number | undefined;
  if (activity && activity.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED) {
    // A retry's attempt is scheduled ahead: until then the workflow is recovering, not waiting for a worker.
    waitingSinceMs = optionalTsToMs(activity.scheduledTime);
  } else if (!activity) {
    const task = description.raw.pendingWorkflowTask;
    if (task?.state === PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED) waitingSinceMs = optionalTsToMs(task.originalScheduledTime ?? task.scheduledTime);
  }
  const waiting = waitingSinceMs !== undefined && now - waitingSinceMs >= WAIT_NOTICED_MS;

  const lastReadAt = latest(times.lastReadAt, status.lastSessionEndedAt);
  const lastCommittedAt = latest(times.lastCommittedAt, status.lastBatchAt);
  const ago = (time: string | null) => (time === null ? null : seconds(Math.max(0, now - Date.parse(time))));
  const secondsSinceLastRead = ago(lastReadAt);

  let state: StreamStatus['state'] = status.state;
  if (!status.paused) {
    if (waiting) state = 'waiting for a worker';
    else if (readingSession) {
      // The session's newest sign of reading: its last read, or its start (it has not read yet).
      const sessionRead = Math.max(times.lastReadAt ? Date.parse(times.lastReadAt) : 0, sessionStartedMs ?? 0);
      state = now - sessionRead <= UNREAD_AFTER_SECONDS * 1000 ? 'consuming' : 'not reading';
    }
  }

  return {
    ...status,
    state,
    lag: { ...status.lag, seconds: lagSecondsNow(status, state, secondsSinceLastRead, now) },
    reading: {
      asOf: new Date(now).toISOString(),
      lastReadAt,
      secondsSinceLastRead,
      lastCommittedAt,
      secondsSinceLastCommit: ago(lastCommittedAt),
      waitingForWorkerSince: waiting ? new Date(waitingSinceMs!).toISOString() : null,
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
}

/**
 * Seconds behind the source now. Caught up at the last report: current up to the last read, so the
 * time since. Behind then: that report's figure while a session reads on, older by the time since the
 * report while none does.
 */
function lagSecondsNow(status: IngestionStatus, state: StreamStatus['state'], secondsSinceLastRead: number | null, now: number): number | null {
  if (status.lag.events === 0) return secondsSinceLastRead;
  if (status.lag.seconds === null) return null;
  if (state === 'consuming' || status.lastSessionEndedAt === null) return status.lag.seconds;
  return seconds(status.lag.seconds * 1000 + Math.max(0, now - Date.parse(status.lastSessionEndedAt)));
}
