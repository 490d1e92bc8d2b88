import type { WorkflowExecutionDescription } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
import { describe, expect, it } from 'vitest';
import { streamStatusAt, type WorkflowFacts } from '../../clients/stream-status.js';
import { DEFAULT_TUNING, emptyTotals, type IngestionStatus, type SessionReport } from '../../contracts/ingestion.js';

/*
 * `ingest status` from the facts at the time asked (clients/stream-status.ts): what Temporal's
 * DescribeWorkflowExecution says of a workflow's pending work, composed with its status query. The
 * descriptions are the API's messages as the client receives them.
 */

const NOW = Date.parse('2026-12-04T10:00:00.000Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();
const ts = (seconds: number) => msNumberToTs(NOW - seconds * 1000);

/** What the workflow says of itself: its last session ended 25 s ago, caught up, its newest event 0.1 s old then. */
function workflowStatus(overrides: Partial<IngestionStatus> = {}): IngestionStatus {
  return {
    workflowId: 'restaurant_stream:brand_a',
    mode: 'realtime',
    stream: 'brand_a',
    sourceUrl: 'http://127.0.0.1:8000',
    state: 'consuming',
    position: { offset: 500, epoch: 1, lastEventId: null },
    paused: null,
    eventsPerSecond: 10,
    totals: emptyTotals(),
    lag: { events: 0, seconds: 0.1, sourceHeadOffset: 500 },
    lastBatchAt: ago(25.2),
    lastSessionEndedAt: ago(25),
    lastError: null,
    startedAt: ago(3600),
    runs: 1,
    tuning: { ...DEFAULT_TUNING },
    ...overrides,
  };
}

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

function facts(pending: { activities?: PendingActivity[]; workflowTask?: WorkflowExecutionDescription['raw']['pendingWorkflowTask'] }, answer: WorkflowFacts['answer'] = workflowStatus()): WorkflowFacts {
  const raw = { pendingActivities: pending.activities ?? [], pendingWorkflowTask: pending.workflowTask ?? null };
  return { workflowId: 'restaurant_stream:brand_a', mode: 'realtime', stream: 'brand_a', description: { raw } as unknown as WorkflowExecutionDescription, answer };
}

const session = (state: number, fields: Partial<PendingActivity> = {}): PendingActivity =>
  ({ activityId: '7', activityType: { name: 'consumeStream' }, state, attempt: 1, lastWorkerIdentity: 'host:123', ...fields });
const SCHEDULED = 1;
const STARTED = 2;

const heartbeat = (details: object) => ({ payloads: [defaultPayloadConverter.toPayload(details)] });

describe('ingest status from the facts at the time asked', () => {
  it('a stream whose next session no worker has taken waits for a worker, not consuming with a lag of 0.1 s', () => {
    const status = streamStatusAt(facts({ activities: [session(SCHEDULED, { scheduledTime: ts(24.9) })] }), defaultPayloadConverter, NOW);
    expect(status).toMatchObject({
      state: 'waiting for a worker',
      lag: { events: 0, seconds: 25 },
      reading: { asOf: new Date(NOW).toISOString(), lastReadAt: ago(25), secondsSinceLastRead: 25, lastCommittedAt: ago(25.2), secondsSinceLastCommit: 25.2, waitingForWorkerSince: ago(24.9), session: null },
    });
  });

  it('a session reading now: consuming, read and committed a moment ago, as its heartbeat says', () => {
    const running = session(STARTED, { lastStartedTime: ts(4), heartbeatDetails: heartbeat({ bytesRead: 10, ownerGeneration: 3, lastReadAt: ago(0.4), lastCommittedAt: ago(0.6) }) });
    const status = streamStatusAt(facts({ activities: [running] }), defaultPayloadConverter, NOW);
    expect(status).toMatchObject({
      state: 'consuming',
      lag: { seconds: 0.4 },
      reading: { secondsSinceLastRead: 0.4, secondsSinceLastCommit: 0.6, waitingForWorkerSince: null, session: { activity: 'consumeStream', worker: 'host:123', startedAt: ago(4), attempt: 1 } },
    });
  });

  it('a session started but not reading for longer than a stream may go unread is not consuming', () => {
    const stuck = session(STARTED, { lastStartedTime: ts(30), heartbeatDetails: heartbeat({ lastReadAt: ago(20) }) });
    expect(streamStatusAt(facts({ activities: [stuck] }), defaultPayloadConverter, NOW)).toMatchObject({ state: 'not reading', reading: { secondsSinceLastRead: 20 } });
    // Just started, nothing read yet: it is.
    const starting = session(STARTED, { lastStartedTime: ts(1) });
    expect(streamStatusAt(facts({ activities: [starting] }), defaultPayloadConverter, NOW).state).toBe('consuming');
  });

  it('a stream behind the source when last reported, unread since, falls further behind by as long', () => {
    const behind = workflowStatus({ lag: { events: 400, seconds: 12, sourceHeadOffset: 900 } });
    const status = streamStatusAt(facts({ activities: [session(SCHEDULED, { scheduledTime: ts(24.9) })] }, behind), defaultPayloadConverter, NOW);
    expect(status).toMatchObject({ state: 'waiting for a worker', lag: { events: 400, seconds: 37 } });
  });

  it('a retry scheduled ahead is recovering; a handover between sessions shorter than a second is not waiting; a paused stream is paused', () => {
    expect(streamStatusAt(facts({ activities: [session(SCHEDULED, { scheduledTime: ts(-3), attempt: 2 })] }), defaultPayloadConverter, NOW).state).toBe('recovering');
    expect(streamStatusAt(facts({ workflowTask: { state: SCHEDULED, scheduledTime: ts(0.05) } }), defaultPayloadConverter, NOW)).toMatchObject({
      state: 'consuming',
      reading: { waitingForWorkerSince: null },
    });
    const paused = workflowStatus({ state: 'paused', paused: { reason: 'stock take', since: ago(60) } });
    expect(streamStatusAt(facts({}, paused), defaultPayloadConverter, NOW).state).toBe('paused');
  });

  it('a workflow no worker can run answers nothing itself: its task waits, and its last session comes from its history', () => {
    const report = { endedAt: ago(40), lastBatchAt: ago(40.5), position: { offset: 500, epoch: 1, lastEventId: null } } as SessionReport;
    const status = streamStatusAt(facts({ workflowTask: { state: SCHEDULED, scheduledTime: ts(39), originalScheduledTime: ts(39.5) } }, { unanswered: 'no worker', lastReport: report }), defaultPayloadConverter, NOW);
    expect(status).toEqual({
      workflowId: 'restaurant_stream:brand_a',
      mode: 'realtime',
      stream: 'brand_a',
      state: 'waiting for a worker',
      unanswered: 'no worker',
      reading: { asOf: new Date(NOW).toISOString(), lastReadAt: ago(40), secondsSinceLastRead: 40, lastCommittedAt: ago(40.5), secondsSinceLastCommit: 40.5, waitingForWorkerSince: ago(39.5), session: null },
    });
  });
});
