import { boundSseEvents, OVERSIZED_EVENT_TYPE, type OversizedEvent } from './sse-event-bound.js';
import { MessageQueue, type StreamMessage } from './message-queue.js';
import { SseMessageReader, type SseEvent } from './sse-messages.js';
import { credentialsRefused, isCredentialsRefusal } from './source.js';

export type { StreamMessage };

export interface SseFeedOptions {
  /** Resume point: sent as `Last-Event-ID` (a source may ignore it; gaps are filled elsewhere). */
  fromOffset: number;
  /** Sent with every request (credentials). */
  headers?: Readonly<Record<string, string>>;
  /** Largest event read whole; a larger one arrives as a StreamMessage with `oversized`. */
  maxEventBytes: number;
  /** Reconnect when nothing at all (not even a keep-alive) arrived for this long. */
  idleTimeoutMs?: number;
  /**
   * Flow control: with this many unread messages the feed stops reading the connection (the source
   * sees TCP push back) until `take` makes room. Events then wait in the socket and at the source, not
   * in the worker's heap, where each one held for long would outlive the young generation.
   */
  maxQueued?: number;
  onLog?: (message: string, fields?: Record<string, unknown>) => void;
}

/**
 * A supervised SSE connection to the event API: reconnects with exponential backoff and jitter after
 * errors, non-200 answers and idle silence, always resuming after the last message it queued.
 */
export class SseFeed {
  private readonly queue = new MessageQueue();
  private lastQueuedOffset: number;
  /** Aborts the current connection's request; undefined between connections. */
  private connection: AbortController | undefined;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout;
  private lastByteAt = Date.now();
  private backoffMs = 0;
  private wake: (() => void) | undefined;
  /** Set while reads are paused for want of room: called when there is room, or the connection goes. */
  private resumeReads: (() => void) | undefined;
  /** A refusal that retrying cannot cure (401/403): `take` throws it. */
  private failure: Error | undefined;
  readonly stats = { connections: 0, reconnects: 0, messages: 0 };
  /** Called with the size of every chunk that arrives: progress, for the session reading the feed. */
  onBytes: ((bytes: number) => void) | undefined;

  constructor(
    private readonly streamUrl: string,
    private readonly options: SseFeedOptions,
  ) {
    this.lastQueuedOffset = options.fromOffset;
    const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
    this.idleTimer = setInterval(() => {
      if (this.connection && !this.resumeReads && Date.now() - this.lastByteAt > idleTimeoutMs) this.reconnect(`no data or keep-alive for ${idleTimeoutMs} ms`);
    }, Math.min(idleTimeoutMs, 5_000));
    this.connect();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** The newest offset received (queued or taken): how far the source has got, as far as we know. */
  get newestOffset(): number {
    return this.lastQueuedOffset;
  }

  /** Moves the resume point (after a detected source restart) and reconnects from there. */
  restartFrom(offset: number): void {
    this.queue.clear();
    this.lastQueuedOffset = offset;
    this.reconnect(`resuming from offset ${offset}`, 0);
  }

  /**
   * Resolves with up to `max` messages: as soon as `max` are queued, or `waitMs` after the first one
   * arrived; with none after `idleMs` without any, or when `signal` aborts.
   */
  private rethrowFailure(): void {
    if (this.failure) throw this.failure;
  }

  async take(max: number, waitMs: number, signal: AbortSignal, idleMs = Infinity): Promise<StreamMessage[]> {
    this.rethrowFailure();
    if (this.queued === 0) await this.waitFor(() => this.queued > 0, idleMs, signal);
    this.rethrowFailure();
    if (this.queued === 0) return [];
    if (this.queued < max) await this.waitFor(() => this.queued >= max, waitMs, signal);
    const taken = this.queue.take(max);
    if (this.queued < this.maxQueued) this.releaseReads();
    return taken;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.reconnectTimer);
    this.connection?.abort();
    this.connection = undefined;
    this.releaseReads();
    this.wake?.();
  }

  private get maxQueued(): number {
    return this.options.maxQueued ?? 10_000;
  }

  /** Resolves once the queue has room, or the connection is closed (its pending chunk is then dropped). */
  private roomToRead(): Promise<void> {
    if (this.queued < this.maxQueued) return Promise.resolve();
    return new Promise((resolve) => {
      this.resumeReads = resolve;
    });
  }

  private releaseReads(): void {
    const resume = this.resumeReads;
    if (!resume) return;
    this.resumeReads = undefined;
    // The silence while paused was ours: the idle timeout counts from here.
    this.lastByteAt = Date.now();
    resume();
  }

  private waitFor(ready: () => boolean, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (ready() || signal.aborted || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', finish);
        this.wake = undefined;
        resolve();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(finish, timeoutMs) : undefined;
      signal.addEventListener('abort', finish);
      this.wake = () => {
        if (ready() || this.closed || this.failure) finish();
      };
    });
  }

  private connect(): void {
    if (this.closed) return;
    this.stats.connections += 1;
    this.lastByteAt = Date.now();
    const connection = new AbortController();
    this.connection = connection;
    this.read(connection.signal).then(
      (ended) => this.connection === connection && this.reconnect(ended),
      (error: unknown) => this.connection === connection && this.reconnect(`connection error: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  /** Reads one connection's events until it ends; resolves with why. */
  private async read(signal: AbortSignal): Promise<string> {
    const response = await this.fetchWithResumePoint(this.streamUrl, signal);
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      return `HTTP ${response.status}`;
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.startsWith('text/event-stream')) {
      await response.body?.cancel().catch(() => undefined);
      return `not an event stream (content type "${contentType}")`;
    }
    this.backoffMs = 0;
    if (!response.body) return 'no response body';
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const bound = boundSseEvents(this.options.maxEventBytes);
    const messages = new SseMessageReader((event) => this.enqueue(event));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return 'the source ended the stream';
      // The queue is full: the body is not read (the source sees TCP push back) until there is room.
      await this.roomToRead();
      // A chunk read before the connection was dropped (a restart, a close) is not the new connection's.
      if (signal.aborted) return 'dropped';
      this.lastByteAt = Date.now();
      this.onBytes?.(value.byteLength);
      const events = bound(value);
      if (events) messages.push(events);
    }
  }

  private async fetchWithResumePoint(url: string, signal: AbortSignal): Promise<Response> {
    const headers = new Headers(this.options.headers);
    headers.set('Accept', 'text/event-stream');
    headers.set('Last-Event-ID', String(this.lastQueuedOffset));
    const response = await fetch(url, { headers, redirect: 'follow', signal });
    if (isCredentialsRefusal(response.status)) {
      this.failure = credentialsRefused('GET /stream', response.status, await response.clone().text().catch(() => ''));
      this.wake?.();
    }
    if (response.status === 410) {
      // Asked for offsets the source no longer retains: resume from the earliest it has; the gap
      // before it is detected and recorded by the session like any other.
      const body = (await response.clone().json().catch(() => ({}))) as { earliest_offset?: unknown; earliest?: unknown };
      const earliest = Number(body.earliest_offset ?? body.earliest);
      if (Number.isSafeInteger(earliest) && earliest > 0) this.lastQueuedOffset = earliest - 1;
      this.options.onLog?.('source no longer retains the resume point', { status: 410, earliest });
    }
    return response;
  }

  private enqueue(event: SseEvent): void {
    const id = event.id === '' ? null : Number(event.id);
    let offset = Number.isSafeInteger(id) ? id : null;
    const oversized = event.type === OVERSIZED_EVENT_TYPE ? oversizedMessage(event.data.toString('utf8')) : undefined;
    if (oversized) offset = oversized.offset;
    if (offset !== null) this.lastQueuedOffset = offset;
    if (oversized) this.queue.push(offset, EMPTY, oversized.oversized);
    else this.queue.push(offset, event.data);
    this.stats.messages += 1;
    this.wake?.();
  }

  private reconnect(reason: string, delayMs?: number): void {
    this.connection?.abort();
    this.connection = undefined;
    this.releaseReads();
    clearTimeout(this.reconnectTimer);
    if (this.closed || this.failure) return;
    this.backoffMs = delayMs ?? Math.min(Math.max(this.backoffMs * 2, 250), 10_000);
    const jittered = delayMs ?? Math.round(this.backoffMs * (0.5 + Math.random() / 2));
    this.stats.reconnects += 1;
    this.options.onLog?.('SSE reconnecting', { reason, inMs: jittered, fromOffset: this.lastQueuedOffset });
    this.reconnectTimer = setTimeout(() => this.connect(), jittered);
  }
}

const EMPTY = new Uint8Array(0);

/** The stand-in boundSseEvents put for an oversized event (a source sending that type itself gets no special treatment). */
function oversizedMessage(data: string): Required<Pick<StreamMessage, 'offset' | 'oversized'>> | undefined {
  try {
    const { offset, bytes, head } = JSON.parse(data) as OversizedEvent;
    if (typeof bytes === 'number' && typeof head === 'string') return { offset: Number.isSafeInteger(offset) ? offset : null, oversized: { bytes, head } };
  } catch {
    // not ours
  }
  return undefined;
}
