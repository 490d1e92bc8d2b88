import { CancelledFailure } from '@temporalio/activity';
import type { Logger } from '../../telemetry/logger.js';
import { emptyTotals, type StreamPosition } from '../../contracts/ingestion.js';
import type { ProcessorRegistry } from '../../processors/processor.js';
import { fetchEventsPage, fetchSourceHead, PageTooLargeError, type PagedEvent } from '../restaurant-api/events-page.js';
import { sourceEndpoint, type SourceAccess } from '../restaurant-api/source.js';
import { SseFeed, type StreamMessage } from '../restaurant-api/sse-feed.js';
import type { StreamWriter } from '../warehouse/batch-writer.js';
import { Batch } from '../warehouse/batch.js';
import type { SessionCounts, SessionReport, SessionRequest } from '../../contracts/ingestion.js';
import { decodeText, decodeValue, type DecodedMessage } from './decode.js';
import type { FeedKeeper } from './feed-keeper.js';
import type { Liveness } from './liveness.js';
import type { IngestionMetrics } from './metrics.js';
import { StreamSequencer, type Placement } from './sequencer.js';

export interface SessionProgress {
  position: StreamPosition;
  counts: SessionCounts;
}

export interface SessionDependencies {
  /** The worker's writer, fenced by this session's ownership of the stream. */
  writer: StreamWriter;
  processors: ProcessorRegistry;
  logger: Logger;
  /** Called after every commit with the committed progress (the activity heartbeats it). */
  onCommit: (progress: SessionProgress) => void;
  /** Called whenever the session has read from its source (the activity heartbeats the time). */
  onRead: (at: string) => void;
  /** Aborts when the activity is cancelled (pause, rewind, stop). */
  cancelled: AbortSignal;
  /** Aborts when the worker is stopping: the session ends at the next batch boundary, normally. */
  stopping: AbortSignal;
  metrics: IngestionMetrics;
  source: SourceAccess;
  /** Where the session reports progress; its `stalled` signal ends the session. */
  liveness: Liveness;
  /** The position committed when the session took ownership of the stream: where it starts. */
  start: StreamPosition;
  /** The worker's parked SSE connections, handed from one session of a stream to the next. */
  feeds: FeedKeeper;
}

/** An event over the size bound, judged without reading it: rejected with its size and first bytes. */
type OversizedMessage = Extract<DecodedMessage, { kind: 'unreadable' }> & { bytes: number };
type RoutedMessage = DecodedMessage | OversizedMessage;

/** Messages decoded between two yields to the event loop (see routeEach). */
const ROUTE_SLICE = 200;

/**
 * The SSE feed holds this many batches' worth of unread events: enough that the next batch is there
 * when the session takes it; more would only be live heap, which V8 lets the heap grow to a multiple of.
 */
const FEED_BATCHES = 2;

/** How long the SSE feed may stay silent before `/events` is asked whether anything was missed. */
const IDLE_CATCH_UP_MS = 1_000;

/**
 * While nothing commits (a commit records it), a session marks its stream read in the warehouse at most
 * this often: one small update per quiet stream every few seconds, what `ingestion_status` and the
 * worker's gauges tell a stream being read from one waiting (migrations/0018_stream_read_marks.ts).
 */
const READ_MARK_INTERVAL_MS = 2_000;

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
  /** Aborts the source's reads: cancellation, the worker stopping, or the session stalled. */
  private readonly reads: AbortSignal;
  /** True while the session waits on the SSE feed: only then do its bytes count as the session's progress. */
  private readingFeed = false;
  private readonly deadline: NodeJS.Timeout;
  /** When the stream was last marked read in the warehouse (performance.now()), by a commit or a mark. */
  private readMarkedAt = Number.NEGATIVE_INFINITY;
  /** The session has read its source since then. */
  private readSinceMark = false;
  /** Releases the session's timer and signal listeners; the activity calls it whatever the outcome. */
  readonly dispose: () => void;

  constructor(
    private readonly request: SessionRequest,
    resumeFrom: SessionProgress | undefined,
    private readonly deps: SessionDependencies,
  ) {
    this.committed = deps.start;
    this.counts = resumeFrom?.counts ?? emptyCounts();
    this.sequencer = new StreamSequencer(this.committed);
    // An explicit timer rather than AbortSignal.timeout inside AbortSignal.any, which Node 20 can
    // garbage-collect before it fires.
    const ends = new AbortController();
    const reads = new AbortController();
    this.deadline = setTimeout(() => ends.abort(), request.sessionSeconds * 1000);
    // Stopping ends the session at its next batch boundary; a cancellation or a stall also aborts its reads.
    const listeners: Array<[AbortSignal, () => void]> = [
      [deps.stopping, () => ends.abort()],
      [deps.cancelled, () => (ends.abort(), reads.abort(deps.cancelled.reason))],
      [deps.liveness.stalled, () => (ends.abort(), reads.abort(deps.liveness.stalled.reason))],
    ];
    for (const [signal, listener] of listeners) {
      if (signal.aborted) listener();
      else signal.addEventListener('abort', listener, { once: true });
    }
    this.dispose = () => {
      clearTimeout(this.deadline);
      for (const [signal, listener] of listeners) signal.removeEventListener('abort', listener);
    };
    this.sessionEnds = ends.signal;
    this.reads = reads.signal;
  }

  private readonly onPageBytes = (bytes: number) => this.deps.liveness.moved(bytes);

  /** Identifies the source, credentials and bound a parked feed was opened with. */
  private get feedKey(): string {
    return JSON.stringify([this.deps.source.url, this.deps.source.headers, this.feedBound]);
  }

  private get feedBound(): number {
    return FEED_BATCHES * this.request.maxBatchEvents;
  }

  /**
   * Realtime: the SSE feed, with gaps filled from `/events`. The feed a previous session of this stream
   * parked on this worker at exactly our start is taken over (no reconnect, no continuity check);
   * a session that ends cleanly parks its feed for the next one.
   */
  async consumeStream(): Promise<SessionReport> {
    const feed = this.deps.feeds.take(this.request.stream, this.feedKey, this.sequencer.position) ?? (await this.openFeed());
    this.feed = feed;
    feed.onBytes = (bytes) => {
      if (this.readingFeed) this.deps.liveness.moved(bytes);
    };
    let report: SessionReport | undefined;
    try {
      while (!this.sessionEnds.aborted) {
        this.readingFeed = true;
        const messages = await feed.take(this.request.maxBatchEvents, this.request.maxBatchWaitMs, this.sessionEnds, IDLE_CATCH_UP_MS).finally(() => {
          this.readingFeed = false;
        });
        this.deps.liveness.moved();
        if (messages.length > 0) this.noteRead();
        else if (!this.sessionEnds.aborted) await this.catchUpFromPages();
        await this.routeEach(messages, this.decodeStreamed);
        await this.flush();
      }
      report = await this.finish(false, feed.newestOffset);
      return report;
    } finally {
      if (report && !this.deps.stopping.aborted) this.deps.feeds.park(this.request.stream, this.feedKey, this.committed, feed);
      else feed.close();
    }
  }

  private async openFeed(): Promise<SseFeed> {
    await this.checkSourceContinuity();
    return new SseFeed(sourceEndpoint(this.request.sourceUrl, 'stream').toString(), {
      fromOffset: this.sequencer.position.offset,
      headers: this.deps.source.headers,
      maxQueued: this.feedBound,
      maxEventBytes: this.deps.source.maxEventBytes,
      onLog: (message, fields) => this.deps.logger.info(message, { stream: this.request.stream, ...fields }),
    });
  }

  /**
   * The stream went quiet: ask `/events` whether anything lies beyond our position. A gap at the tail
   * (the last events went to a competing consumer, or a connection dropped just after them) shows
   * no later offset on the stream, so it is only found this way.
   */
  private async catchUpFromPages(): Promise<void> {
    while (!this.sessionEnds.aborted) {
      const page = await this.fetchPage(this.sequencer.position.offset, this.request.pageSize);
      await this.routeEach(page.events, this.decodePaged);
      this.counts.gapsFilled += page.events.length;
      await this.flush();
      if (!page.full) return;
    }
  }

  /** Polling: page `/events?since=` until caught up (or the session's time is up). */
  async pollStream(): Promise<SessionReport> {
    await this.checkSourceContinuity();
    let caughtUp = false;
    while (!this.sessionEnds.aborted && !caughtUp) {
      const page = await this.fetchPage(this.sequencer.position.offset, this.request.pageSize);
      await this.routeEach(page.events, this.decodePaged);
      await this.flush();
      caughtUp = !page.full;
    }
    return this.finish(caughtUp, await fetchSourceHead(this.deps.source, { signal: this.reads }));
  }

  /**
   * One `/events` page within the size bound. A page over it is asked again with half the events,
   * down to one: a single event still over the bound is read to its end only to count its size, and
   * comes back as an oversized element, so the stream moves past it. `full`: the page had all it was asked for.
   */
  private async fetchPage(since: number, limit: number): Promise<{ events: PagedEvent[]; full: boolean }> {
    let asked = limit;
    for (;;) {
      try {
        const page = await fetchEventsPage(this.deps.source, since, asked, { signal: this.reads, onBytes: this.onPageBytes, measureOversized: asked === 1 });
        this.noteRead();
        return { events: page.events, full: page.events.length >= asked };
      } catch (error) {
        if (!(error instanceof PageTooLargeError)) throw error;
        if (asked > 1) {
          asked = Math.floor(asked / 2);
          continue;
        }
        this.noteRead();
        const offset = Number(/"offset"\s*:\s*(\d+)/.exec(error.head)?.[1] ?? since + 1);
        return { events: [{ offset, value: undefined, oversized: { bytes: error.bytes, head: error.head } }], full: true };
      }
    }
  }

  private async finish(caughtUp: boolean, sourceHead: number | null): Promise<SessionReport> {
    this.throwIfCancelledOrStalled();
    await this.flush();
    await this.writing;
    this.sourceHeadOffset = Math.max(sourceHead ?? 0, this.sourceHeadOffset ?? 0, this.committed.offset);
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

  private throwIfCancelledOrStalled(): void {
    if (this.deps.cancelled.aborted) throw new CancelledFailure('ingestion session cancelled');
    if (this.deps.liveness.stalled.aborted) throw this.deps.liveness.stalled.reason;
  }

  private readonly decodeStreamed = (message: StreamMessage, epoch: number): RoutedMessage =>
    message.oversized ? this.oversized(message.offset, message.oversized) : decodeText(message.data, message.offset, epoch, this.deps.processors);

  private oversized(offset: number | null, { bytes, head }: { bytes: number; head: string }): OversizedMessage {
    const limit = this.deps.source.maxEventBytes;
    return {
      kind: 'unreadable',
      offset,
      eventId: null,
      raw: head,
      bytes,
      reason: `oversized event: ${bytes} bytes, over the limit of ${limit} (INGEST_MAX_EVENT_BYTES, or INGEST_MAX_PAGE_BYTES for /events); only its first bytes are kept`,
    };
  }

  private readonly decodePaged = (event: PagedEvent, epoch: number): RoutedMessage =>
    event.oversized ? this.oversized(event.offset, event.oversized) : decodeValue(event.value, event.offset, epoch, this.deps.processors);

  /**
   * Routes messages one by one, decoding each in the epoch current when its turn comes. It yields to
   * the event loop every few hundred messages, so the batch being written meanwhile gets its next
   * statement sent as soon as the previous one answers, instead of after the whole batch is decoded.
   */
  private async routeEach<T>(items: readonly T[], decode: (item: T, epoch: number) => RoutedMessage): Promise<void> {
    let sinceYield = 0;
    for (const item of items) {
      const pending = this.route(decode(item, this.sequencer.epoch));
      if (pending) await pending;
      if (++sinceYield === ROUTE_SLICE) {
        sinceYield = 0;
        this.deps.liveness.moved();
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }

  /**
   * Puts one message in its place. The common case (the next offset, room in the batch) completes
   * synchronously: a promise per event would cost more than the event's own work.
   */
  private route(message: RoutedMessage): Promise<void> | undefined {
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
    if (message.kind === 'event') this.batch.addEvent(message.event, message.problem, message.received);
    else this.reject(message);
    return this.flushIfFull();
  }

  private async routeOutOfOrder(message: RoutedMessage, placement: Exclude<Placement, { kind: 'next' }>): Promise<void> {
    const { offset, eventId } = message;
    if (placement.kind === 'gap') {
      await this.fillGap(placement.from, placement.to);
      return this.route(message);
    }
    if (placement.seenHere || eventId === null || this.batch.has(eventId) || (await this.deps.writer.eventExists(eventId, this.reads))) {
      this.counts.duplicatesSkipped += 1;
      return;
    }
    await this.recordSourceRestart(`offset ${offset} arrived after ${this.sequencer.position.offset} with an unseen event_id ${eventId}`);
    return this.route(message);
  }

  private reject(message: Extract<RoutedMessage, { kind: 'unreadable' }>): void {
    const bytes = 'bytes' in message ? message.bytes : undefined;
    this.batch.reject({ epoch: this.sequencer.epoch, offset: message.offset, eventId: message.eventId, raw: message.raw, reason: message.reason, bytes });
  }

  /**
   * Offsets from..to never reached us (the old source's competing consumers, a dropped connection):
   * fetch them from `/events`. What the source no longer has is recorded as lost, never skipped silently.
   */
  private async fillGap(from: number, to: number): Promise<void> {
    if ((await this.checkSourceContinuity()) === 'restarted') return;
    let since = from - 1;
    while (since < to) {
      this.throwIfCancelledOrStalled();
      const page = await this.fetchPage(since, Math.min(this.request.pageSize, to - since));
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
    const page = await fetchEventsPage(this.deps.source, offset - 1, 1, { signal: this.reads, onBytes: this.onPageBytes }).catch((error: unknown) => {
      // Our last event is too large to read back: the source still holds something there, call it unknown.
      if (error instanceof PageTooLargeError) return { events: [] };
      throw error;
    });
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

  private noteRead(): void {
    this.readSinceMark = true;
    this.deps.onRead(new Date().toISOString());
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
    if (this.batch.isEmpty) return this.markReadIfDue();
    // A cancelled (or stalled) session writes nothing more: what it read but did not commit is read again on resume.
    this.throwIfCancelledOrStalled();
    const batch = this.batch;
    this.batch = new Batch();
    const position = this.sequencer.position;
    await this.writing;
    this.throwIfCancelledOrStalled();
    this.writing = this.write(batch, position);
    // Observed here so a failure is never an unhandled rejection; awaiting `writing` still throws it.
    this.writing.catch(() => undefined);
  }

  /**
   * Nothing to commit: marks the stream read when no commit or mark has for READ_MARK_INTERVAL_MS. The
   * mark queues behind the write in flight and borrows a connection as a batch does.
   */
  private async markReadIfDue(): Promise<void> {
    if (!this.readSinceMark || performance.now() - this.readMarkedAt < READ_MARK_INTERVAL_MS) return;
    this.readMarkedAt = performance.now();
    this.readSinceMark = false;
    await this.writing;
    this.throwIfCancelledOrStalled();
    this.writing = this.deps.liveness.whileRunning(() => this.deps.writer.markRead(this.request.stream, this.reads));
    this.writing.catch(() => undefined);
  }

  /** Waits for the write in flight, if any (its outcome is reported by whoever awaited it before). */
  async drain(): Promise<void> {
    await this.writing.catch(() => undefined);
  }

  private async write(batch: Batch, position: StreamPosition): Promise<void> {
    const lastEventTs = batch.lastEventTs();
    const started = performance.now();
    await this.deps.liveness.whileRunning(() => this.deps.writer.write({ stream: this.request.stream, batch, position, lastEventTs, sourceHeadOffset: this.sourceHeadOffset }, this.reads));
    const byType = batch.countByType();
    this.deps.metrics.recordBatch(batch, byType, performance.now() - started, position.offset, this.sourceHeadOffset, lastEventTs);
    this.committed = position;
    this.readMarkedAt = performance.now();
    this.readSinceMark = false;
    this.lastBatchAt = new Date().toISOString();
    if (lastEventTs) this.lastEventTs = lastEventTs;
    this.counts.batches += 1;
    this.counts.events += batch.raw.length;
    this.counts.rejected += batch.rejections.length;
    for (const [type, count] of Object.entries(byType)) this.counts.byType[type] = (this.counts.byType[type] ?? 0) + count;
    this.deps.onCommit({ position, counts: this.counts });
  }
}
