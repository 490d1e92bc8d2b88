/**
 * `restaurant-stack reprocess`: re-derives facts (and so the rollups) from raw_data.events_raw over a
 * range of event time, chunk by chunk, with the worker's current processors — the clear-and-backfill
 * of the Airflow days, from our own raw trail. Runs beside realtime ingestion (the writes are
 * idempotent upserts and the rollups move only by what a chunk really changes); pause and resume by
 * signal; progress in the Web UI's current details and the `progress` query. Deterministic: no I/O here.
 */
import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createReprocessActivities } from '../activities/reprocess/activities.js';
import { REPROCESS_MESSAGE_DESCRIPTIONS, pauseSignal, reprocessProgressQuery, resumeSignal } from './messages.js';
import { reprocessInputSchema, type ReprocessInput, type ReprocessProgress, type ReprocessRange } from '../contracts/reprocess.js';

type ReprocessActivities = ReturnType<typeof createReprocessActivities>;

const activities = proxyActivities<ReprocessActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: ['ReprocessRangeError'] },
});

export async function restaurantReprocess(rawInput: ReprocessInput): Promise<ReprocessProgress> {
  const parsed = reprocessInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(`invalid reprocess input: ${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`, 'InvalidReprocessInput');
  }
  const input = parsed.data;
  const stream = input.stream ?? null;
  let range: ReprocessRange | null = input.range ?? null;
  let position = input.position ?? null;
  const totals = input.totals ?? { chunks: 0, events: 0, applied: 0, skipped: 0 };
  let paused = input.paused ?? null;
  let windowSeconds = input.windowSeconds;
  let done = false;
  const startedAt = input.startedAt ?? new Date(Date.now()).toISOString();

  const progress = (): ReprocessProgress => ({ state: done ? 'done' : paused ? 'paused' : 'running', range, stream, position, totals, paused, startedAt });
  const publish = () => {
    const state = progress();
    setCurrentDetails(
      [
        `**Reprocess** ${state.state}${paused ? ` — ${paused.reason}` : ''}`,
        `range: ${range ? `${range.from} → ${range.to}` : 'resolving'}${stream ? `, stream ${stream}` : ''}`,
        `position: ${position ? `${position.ts} (${position.eventId})` : 'start'}`,
        `chunks ${totals.chunks}, events ${totals.events}, applied ${totals.applied}, skipped ${totals.skipped}`,
      ].join('\n\n'),
    );
  };

  setHandler(
    pauseSignal,
    (request) => {
      if (!paused) paused = { reason: request?.reason ?? 'paused by an operator', since: new Date(Date.now()).toISOString() };
      publish();
    },
    { description: REPROCESS_MESSAGE_DESCRIPTIONS.pause },
  );
  setHandler(
    resumeSignal,
    () => {
      paused = null;
      publish();
    },
    { description: REPROCESS_MESSAGE_DESCRIPTIONS.resume },
  );
  setHandler(reprocessProgressQuery, progress, { description: REPROCESS_MESSAGE_DESCRIPTIONS.progress });

  range ??= await activities.resolveReprocessRange({ from: input.from, to: input.to, stream });
  publish();
  while (!done) {
    await condition(() => paused === null);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof restaurantReprocess>({ ...input, windowSeconds, range, position, totals, paused, startedAt });
    }
    const chunk = await activities.reprocessChunk({ range, stream, after: position, chunkEvents: input.chunkEvents, windowSeconds });
    totals.chunks += 1;
    totals.events += chunk.events;
    totals.applied += chunk.applied;
    totals.skipped += chunk.skipped;
    position = chunk.next ?? position;
    windowSeconds = chunk.windowSeconds;
    done = chunk.next === null;
    publish();
  }
  return progress();
}
