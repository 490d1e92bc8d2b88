import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type pg from 'pg';
import { expect } from 'vitest';
import { waitUntil } from '../../stack/wait.js';
import { WORKFLOW_TYPES, type IngestMode, type IngestionTuning, type StreamIngestionInput } from '../../contracts/ingestion.js';
import type { TestWorker } from './temporal.js';
import { expectedFacts, type GroundTruth } from './ground-truth.js';

export const FAST_TUNING: Partial<IngestionTuning> = { sessionSeconds: 2, maxBatchWaitMs: 20, pollIntervalSeconds: 1, pageSize: 500 };

const started: WorkflowHandle[] = [];

export async function startIngestion(testWorker: TestWorker, mode: IngestMode, input: StreamIngestionInput): Promise<WorkflowHandle> {
  const handle = await testWorker.client.workflow.start(WORKFLOW_TYPES[mode], {
    workflowId: `${mode}-${randomBytes(4).toString('hex')}`,
    taskQueue: testWorker.taskQueue,
    args: [{ ...input, tuning: { ...FAST_TUNING, ...input.tuning } }],
  });
  started.push(handle);
  return handle;
}

/** Cancels every ingestion this file started that is still running, so the next test starts clean. */
export async function stopAllIngestion(): Promise<void> {
  for (const handle of started.splice(0)) {
    const { status } = await handle.describe();
    if (status.name === 'RUNNING') {
      await handle.cancel();
      await handle.result().catch(() => undefined);
    }
  }
}

export async function committedOffset(db: pg.Pool, stream: string): Promise<number> {
  const { rows } = await db.query<{ event_offset: string }>('SELECT event_offset FROM raw_data.stream_checkpoints WHERE stream_name = $1', [stream]);
  return Number(rows[0]?.event_offset ?? 0);
}

export async function waitForCheckpoint(db: pg.Pool, stream: string, offset: number, timeoutMs = 90_000): Promise<void> {
  await waitUntil(`stream ${stream} commits offset ${offset}`, timeoutMs, async () => (await committedOffset(db, stream)) >= offset);
}

/** Every event exactly once in events_raw, and the facts equal to what the valid events imply. */
export async function expectWarehouseMatches(db: pg.Pool, truth: GroundTruth): Promise<void> {
  const raw = await db.query<{ event_id: string }>('SELECT event_id FROM raw_data.events_raw');
  const ids = raw.rows.map((row) => row.event_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(ids)).toEqual(truth.eventIds);

  const expected = expectedFacts(truth.valid);
  const { rows } = await db.query<Record<string, string>>(`
    SELECT (SELECT count(*) FROM analytics.orders) AS orders,
           (SELECT count(*) FROM analytics.order_items) AS items,
           (SELECT count(*) FROM analytics.payments) AS payments,
           (SELECT count(*) FROM analytics.feedback) AS feedback,
           (SELECT coalesce(sum(extended_price * 100), 0) FROM analytics.order_items) AS item_cents,
           (SELECT coalesce(sum(qty), 0) FROM analytics.order_items) AS quantity,
           (SELECT coalesce(sum(amount * 100), 0) FROM analytics.payments) AS payment_cents,
           (SELECT coalesce(sum(tip * 100), 0) FROM analytics.orders) AS tip_cents,
           (SELECT count(*) FROM staging.pending_children) AS staged`);
  const actual = rows[0]!;
  expect({
    orders: Number(actual.orders),
    items: Number(actual.items),
    payments: Number(actual.payments),
    feedback: Number(actual.feedback),
    itemCents: Number(actual.item_cents),
    quantity: Number(actual.quantity),
    paymentCents: Number(actual.payment_cents),
    tipCents: Number(actual.tip_cents),
    staged: Number(actual.staged),
  }).toEqual(expected);
}

/**
 * A pause has taken effect: the workflow says paused and no session activity is pending any more, so
 * nothing can commit until it is resumed.
 */
export async function waitUntilPaused(handle: WorkflowHandle, timeoutMs = 10_000): Promise<void> {
  await waitUntil(`${handle.workflowId} is paused with no session running`, timeoutMs, async () => {
    const description = await handle.describe();
    const status = await handle.query<{ paused: unknown }>('status');
    return status.paused !== null && (description.raw.pendingActivities?.length ?? 0) === 0;
  });
}

/** While paused, the source moves `events` past the committed offset and nothing more is committed. */
export async function expectNothingCommittedWhile(db: pg.Pool, stream: string, source: { readonly head: number; readonly finished?: boolean }, events: number): Promise<number> {
  const atPause = await committedOffset(db, stream);
  await waitUntilSourceAhead(source, atPause, events);
  expect(await committedOffset(db, stream)).toBe(atPause);
  return atPause;
}

/** An outage lasts until the source has run `events` past what was committed: a backlog to catch up on. */
export async function waitUntilSourceAhead(source: { readonly head: number; readonly finished?: boolean }, committed: number, events: number): Promise<void> {
  await waitUntil(`the source runs ${events} events past offset ${committed}`, 60_000, () => {
    if (source.head < committed + events && source.finished) throw new Error(`the source finished at offset ${source.head}: give it more events (maxEvents) for this test`);
    return Promise.resolve(source.head >= committed + events);
  });
}
