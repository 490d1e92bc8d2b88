import { CancelledFailure } from '@temporalio/activity';
import type { Logger } from '../../telemetry/logger.js';
import { emptyTotals, type StreamPosition } from '../../contracts/ingestion.js';
import type { ProcessorRegistry } from '../../processors/processor.js';
import { fetchEventsPage, fetchSourceHead, type PagedEvent } from '../restaurant-api/events-page.js';
import { SseFeed } from '../restaurant-api/sse-feed.js';
import type { BatchWriter } from '../warehouse/batch-writer.js';
import { Batch } from '../warehouse/batch.js';
import type { SessionCounts, SessionReport, SessionRequest } from '../../contracts/ingestion.js';
import { decodeText, decodeValue, type DecodedMessage } from './decode.js';
import type { IngestionMetrics } from './metrics.js';
import { StreamSequencer, type Placement } from './sequencer.js';

export interface SessionProgress {
  position: StreamPosition;
  counts: SessionCounts;
}

export interface SessionDependencies {
  writer: BatchWriter;
  processors: ProcessorRegistry;
  logger: Logger;
  /** Called after every commit with the committed progress (the activity heartbeats it). */
  onCommit: (progress: SessionProgress) => void;
  /** Aborts when the activity is cancelled (pause, rewind, stop). */
  cancelled: AbortSignal;
  /** Aborts when the worker is stopping: the session ends at the next batch boundary, normally. */
  stopping: AbortSignal;
  metrics: IngestionMetrics;
}

/** Messages decoded between two yields to the event loop (see routeEach). */
const ROUTE_SLICE = 200;

/** How long the SSE feed may stay silent before `/events` is asked whether anything was missed. */
const IDLE_CATCH_UP_MS = 1_000;

function emptyCounts(): SessionCounts {
  const { sessions: _sessions, ...counts } = emptyTotals();
  return counts;
}

/**
 * One consume or poll session: reads the source from the committed position, puts every message in
 * its place (next, gap to fill from `/events`, duplicate, or a restarted source), and commits batches.
 * A batch is written whole or not at all; after a cancellation nothing further is written.
 */
export class IngestionSession {
  private readonly sequencer: StreamSequencer;
  private batch = new Batch();
  private readonly counts: SessionCounts;
  private readonly startedAt = new Date().toISOString();
  private committed: StreamPosition;
  private lastBatchAt: string | null = null;
  private lastEventTs: string | null = null;
  /** The source's head as last reported by /health, or the highest offset seen, whichever is newer. */
  private sourceHeadOffset: number | null = null;
  private feed: SseFeed | undefined;
  /** The batch being written, if any: it commits while the next one is decoded. */
  private writing: Promise<void> = Promise.resolve();
  private readonly sessionEnds: AbortSignal;
  private readonly deadline: NodeJS.Timeout;
  /** Releases the session's timer and signal listeners; the activity calls it whatever the outcome. */
  readonly dispose: () => void;

  constructor(
    private readonly request: SessionRequest,
    resumeFrom: SessionProgress | undefined,
    private readonly deps: SessionDependencies,
  ) {
    this.committed = resumeFrom?.position ?? request.position;
    this.counts = resumeFrom?.counts ?? emptyCounts();
    this.sequencer = new StreamSequencer(this.committed);
    // An explicit timer rather than AbortSignal.timeout inside AbortSignal.any, which Node 20 can
    // garbage-collect before it fires.
    const ends = new AbortController();
    this.deadline = setTimeout(() => ends.abort(), request.sessionSeconds * 1000);
    const end = () => ends.abort();
    for (const signal of [deps.cancelled, deps.stopping]) {
      if (signal.aborted) end();
      else signal.addEventListener('abort', end, { once: true });
    }
    this.dispose = () => {
      clearTimeout(this.deadline);
      for (const signal of [deps.cancelled, deps.stopping]) signal.removeEventListener('abort', end);
    };
    this.sessionEnds = ends.signal;
  }

  /** Realtime: the SSE feed, with gaps filled from `/events`. */
  async consumeStream(): Promise<SessionReport> {
    await this.checkSourceContinuity();
    const streamUrl = new URL('/stream', this.request.sourceUrl).toString();
    this.feed = new SseFeed(streamUrl, {
      fromOffset: this.sequencer.position.offset,
      onLog: (message, fields) => this.deps.logger.info(message, { stream: this.request.stream, ...fields }),
    });
    try {
      while (!this.sessionEnds.aborted) {
        const messages = await this.feed.take(this.request.maxBatchEvents, this.request.maxBatchWaitMs, this.sessionEnds, IDLE_CATCH_UP_MS);
        if (messages.length === 0 && !this.sessionEnds.aborted) await this.catchUpFromPages();
        await this.routeEach(messages, (message, epoch) => decodeText(message.data, message.offset, epoch, this.deps.processors));
        await this.flush();
      }
    } finally {
      this.feed.close();
    }
    return this.finish(false);
  }

  /**
   * The stream went quiet: ask `/events` whether anything lies beyond our position. A gap at the tail
   * (the last events went to a competing consumer, or a connection dropped just after them) shows
   * no later offset on the stream, so it is only found this way.
   */
  private async catchUpFromPages(): Promise<void> {
    for (;;) {
      const page = await fetchEventsPage(this.request.sourceUrl, this.sequencer.position.offset, this.request.pageSize, this.deps.cancelled);
      await this.routeEach(page.events, this.decodePaged);
      this.counts.gapsFilled += page.events.length;
      await this.flush();
      if (page.events.length < this.request.pageSize) return;
    }
  }

  /** Polling: page `/events?since=` until caught up (or the session's time is up). */
  async pollStream(): Promise<SessionReport> {
    await this.checkSourceContinuity();
    let caughtUp = false;
    while (!this.sessionEnds.aborted && !caughtUp) {
      const page = await fetchEventsPage(this.request.sourceUrl, this.sequencer.position.offset, this.request.pageSize, this.deps.cancelled);
      await this.routeEach(page.events, this.decodePaged);
      await this.flush();
      caughtUp = page.events.length < this.request.pageSize;
    }
    return this.finish(caughtUp);
  }

  private async finish(caughtUp: boolean): Promise<SessionReport> {
    if (this.deps.cancelled.aborted) throw new CancelledFailure('ingestion session cancelled');
    await this.flush();
    await this.writing;
    this.sourceHeadOffset = Math.max((await fetchSourceHead(this.request.sourceUrl)) ?? 0, this.sourceHeadOffset ?? 0, this.committed.offset);
    return {
      ...this.counts,
      position: this.committed,
      startedAt: this.startedAt,
      endedAt: new Date().toISOString(),
      lastBatchAt: this.lastBatchAt,
      lastEventTs: this.lastEventTs,
      sourceHeadOffset: this.sourceHeadOffset,
      caughtUp,
    };
  }

  private readonly decodePaged = (event: PagedEvent, epoch: number) => decodeValue(event.value, event.offset, epoch, this.deps.processors);

  /**
   * Routes messages one by one, decoding each in the epoch current when its turn comes. It yields to
   * the event loop every few hundred messages, so the batch being written meanwhile gets its next
   * statement sent as soon as the previous one answers, instead of after the whole batch is decoded.
   */
  private async routeEach<T>(items: readonly T[], decode: (item: T, epoch: number) => DecodedMessage): Promise<void> {
    let sinceYield = 0;
    for (const item of items) {
      const pending = this.route(decode(item, this.sequencer.epoch));
      if (pending) await pending;
      if (++sinceYield === ROUTE_SLICE) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /**
   * Puts one message in its place. The common case (the next offset, room in the batch) completes
   * synchronously: a promise per event would cost more than the event's own work.
   */
  private route(message: DecodedMessage): Promise<void> | undefined {
    const { offset, eventId } = message;
    if (offset === null) {
      // Nothing says where it belongs: record it, and let the offsets around it speak for the stream.
      if (message.kind === 'unreadable') this.reject(message);
      return this.flushIfFull();
    }
    if (offset > (this.sourceHeadOffset ?? 0)) this.sourceHeadOffset = offset;
    const placement = this.sequencer.place(offset, eventId);
    if (placement.kind !== 'next') return this.routeOutOfOrder(message, placement);
    this.sequencer.accept(offset, eventId);
    if (message.kind === 'event') this.batch.addEvent(message.event, message.problem);
    else this.reject(message);
    return this.flushIfFull();
  }

  private async routeOutOfOrder(message: DecodedMessage, placement: Exclude<Placement, { kind: 'next' }>): Promise<void> {
    const { offset, eventId } = message;
    if (placement.kind === 'gap') {
      await this.fillGap(placement.from, placement.to);
      return this.route(message);
    }
    if (placement.seenHere || eventId === null || this.batch.has(eventId) || (await this.deps.writer.eventExists(eventId))) {
      this.counts.duplicatesSkipped += 1;
      return;
    }
    await this.recordSourceRestart(`offset ${offset} arrived after ${this.sequencer.position.offset} with an unseen event_id ${eventId}`);
    return this.route(message);
  }

  private reject(message: Extract<DecodedMessage, { kind: 'unreadable' }>): void {
    this.batch.reject({ epoch: this.sequencer.epoch, offset: message.offset, eventId: message.eventId, raw: message.raw, reason: message.reason });
  }

  /**
   * Offsets from..to never reached us (the old source's competing consumers, a dropped connection):
   * fetch them from `/events`. What the source no longer has is recorded as lost, never skipped silently.
   */
  private async fillGap(from: number, to: number): Promise<void> {
    if ((await this.checkSourceContinuity()) === 'restarted') return;
    let since = from - 1;
    while (since < to) {
      const page = await fetchEventsPage(this.request.sourceUrl, since, Math.min(this.request.pageSize, to - since), this.deps.cancelled);
      const inRange = page.events.filter((event) => event.offset > since && event.offset <= to);
      const firstAvailable = inRange[0]?.offset ?? to + 1;
      if (firstAvailable > since + 1) this.recordLoss(since + 1, firstAvailable - 1);
      await this.routeEach(inRange, this.decodePaged);
      this.counts.gapsFilled += inRange.length;
      since = Math.max(this.sequencer.position.offset, firstAvailable - 1);
    }
  }

  private recordLoss(from: number, to: number): void {
    const epoch = this.sequencer.position.epoch;
    this.batch.reject({ epoch, offset: from, eventId: null, raw: '', reason: `lost at source: offsets ${from}–${to} (epoch ${epoch}) are no longer retained by the source` });
    this.counts.eventsLostAtSource += to - from + 1;
    this.sequencer.accept(to, null);
  }

  /**
   * Does the source still hold our last event at our offset? If it has fewer events, or another event
   * there, it restarted (the old source loses everything and starts again at 1): begin a new epoch.
   */
  private async checkSourceContinuity(): Promise<'continuous' | 'restarted' | 'unknown'> {
    const { offset, lastEventId } = this.sequencer.position;
    if (offset === 0 || lastEventId === null) return 'unknown';
    const page = await fetchEventsPage(this.request.sourceUrl, offset - 1, 1, this.deps.cancelled);
    const atOffset = page.events[0];
    if (atOffset && atOffset.offset > offset) return 'unknown';
    const idThere = atOffset && typeof atOffset.value === 'object' && atOffset.value !== null ? (atOffset.value as { event_id?: unknown }).event_id : undefined;
    if (atOffset && idThere === lastEventId) return 'continuous';
    await this.recordSourceRestart(
      atOffset ? `the source holds another event (${String(idThere)}) at offset ${offset}` : `the source has no event at offset ${offset} any more`,
    );
    return 'restarted';
  }

  private async recordSourceRestart(reason: string): Promise<void> {
    const previous = this.sequencer.position;
    const position = this.sequencer.startNewEpoch();
    this.batch.restarts.push({ previous, epoch: position.epoch, reason });
    this.counts.sourceRestarts += 1;
    this.deps.logger.warn('source restarted: its offsets went backwards; continuing in a new epoch', { stream: this.request.stream, reason, previous, epoch: position.epoch });
    this.feed?.restartFrom(0);
    await this.flush();
  }

  private flushIfFull(): Promise<void> | undefined {
    return this.batch.size >= this.request.maxBatchEvents ? this.flush() : undefined;
  }

  /**
   * Hands the batch to the writer and returns as soon as the write has started, so the next batch is
   * decoded while this one commits (at most one write in flight: the next flush waits for it). A write
   * that fails surfaces at the next flush or at the session's end.
   */
  private async flush(): Promise<void> {
    if (this.batch.isEmpty) return;
    // A cancelled session writes nothing more: what it read but did not commit is read again on resume.
    if (this.deps.cancelled.aborted) throw new CancelledFailure('ingestion session cancelled');
    const batch = this.batch;
    this.batch = new Batch();
    const position = this.sequencer.position;
    await this.writing;
    if (this.deps.cancelled.aborted) throw new CancelledFailure('ingestion session cancelled');
    this.writing = this.write(batch, position);
    // Observed here so a failure is never an unhandled rejection; awaiting `writing` still throws it.
    this.writing.catch(() => undefined);
  }

  /** Waits for the write in flight, if any (its outcome is reported by whoever awaited it before). */
  async drain(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  private async write(batch: Batch, position: StreamPosition): Promise<void> {
    const lastEventTs = batch.lastEventTs();
    const started = performance.now();
    await this.deps.writer.write({ stream: this.request.stream, batch, position, lastEventTs, sourceHeadOffset: this.sourceHeadOffset });
    const byType = batch.countByType();
    this.deps.metrics.recordBatch(batch, byType, performance.now() - started, position.offset, this.sourceHeadOffset, lastEventTs);
    this.committed = position;
    this.lastBatchAt = new Date().toISOString();
    if (lastEventTs) this.lastEventTs = lastEventTs;
    this.counts.batches += 1;
    this.counts.events += batch.raw.length;
    this.counts.rejected += batch.rejections.length;
    for (const [type, count] of Object.entries(byType)) this.counts.byType[type] = (this.counts.byType[type] ?? 0) + count;
    this.deps.onCommit({ position, counts: this.counts });
  }
}
