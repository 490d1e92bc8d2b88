import { EventSource } from 'eventsource';
import { boundSseEvents, OVERSIZED_EVENT_TYPE, type OversizedEvent } from './sse-event-bound.js';
import { credentialsRefused, isCredentialsRefusal } from './source.js';

/** One SSE message as it arrived: the offset from its `id:` line (null without one) and the raw `data:`. */
export interface StreamMessage {
  offset: number | null;
  data: string;
  /** Set for an event over the size bound: its size and first bytes (`data` is then empty). */
  oversized?: { bytes: number; head: string };
}

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

class EveryEventSource extends EventSource {
  onAnyMessage: ((event: MessageEvent) => void) | undefined;

  // EventSource dispatches each message under its `event:` name; catching them all here keeps unknown
  // event types from being dropped for want of a listener.
  override dispatchEvent(event: Event): boolean {
    if (event instanceof MessageEvent) this.onAnyMessage?.(event);
    return super.dispatchEvent(event);
  }
}

/**
 * A supervised SSE connection to the event API: reconnects with exponential backoff and jitter after
 * errors, non-200 answers and idle silence, always resuming after the last message it queued.
 */
export class SseFeed {
  private readonly queue: StreamMessage[] = [];
  private head = 0;
  private lastQueuedOffset: number;
  private source: EveryEventSource | undefined;
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
      if (this.source && !this.resumeReads && Date.now() - this.lastByteAt > idleTimeoutMs) this.reconnect(`no data or keep-alive for ${idleTimeoutMs} ms`);
    }, Math.min(idleTimeoutMs, 5_000));
    this.connect();
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** The newest offset received (queued or taken): how far the source has got, as far as we know. */
  get newestOffset(): number {
    return this.lastQueuedOffset;
  }

  /** Moves the resume point (after a detected source restart) and reconnects from there. */
  restartFrom(offset: number): void {
    this.queue.length = 0;
    this.head = 0;
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
    const taken = this.queue.slice(this.head, this.head + max);
    this.head += taken.length;
    // Taken messages leave the array once they are as many as the unread ones: a message still in it,
    // though taken, stays alive (with its SSE line) long enough to be promoted to the old generation.
    if (this.head >= this.queued) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.queued < this.maxQueued) this.releaseReads();
    return taken;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.reconnectTimer);
    this.source?.close();
    this.source = undefined;
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
    const source = new EveryEventSource(this.streamUrl, { fetch: (input, init) => this.fetchWithResumePoint(input, init) });
    source.onAnyMessage = (event) => this.enqueue(event);
    source.onerror = (event) => {
      if (this.source !== source) return;
      const code = (event as Event & { code?: number }).code;
      // A non-200 answer closes an EventSource for good; a dropped connection it retries itself, but we
      // take over both so that backoff, jitter and the resume point are ours.
      this.reconnect(code ? `HTTP ${code}` : `connection error${(event as Event & { message?: string }).message ? `: ${(event as Event & { message?: string }).message}` : ''}`);
    };
    source.onopen = () => {
      this.backoffMs = 0;
    };
    this.source = source;
  }

  private async fetchWithResumePoint(input: string | URL, init: Parameters<typeof fetch>[1]): Promise<Response> {
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(this.options.headers ?? {})) headers.set(name, value);
    headers.set('Last-Event-ID', String(this.lastQueuedOffset));
    const response = await fetch(input, { ...init, headers });
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
    if (!response.body) return response;
    const touch = new TransformStream<Uint8Array, Uint8Array>({
      transform: async (chunk, controller) => {
        await this.roomToRead();
        if (init?.signal?.aborted) return;
        this.lastByteAt = Date.now();
        this.onBytes?.(chunk.byteLength);
        controller.enqueue(chunk);
      },
    });
    const body = response.body.pipeThrough(touch).pipeThrough(boundSseEvents(this.options.maxEventBytes));
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  private enqueue(event: MessageEvent): void {
    const offset = event.lastEventId === '' ? null : Number(event.lastEventId);
    const plain: StreamMessage = { offset: Number.isSafeInteger(offset) ? offset : null, data: String(event.data) };
    const message = event.type === OVERSIZED_EVENT_TYPE ? (oversizedMessage(plain.data) ?? plain) : plain;
    if (message.offset !== null) this.lastQueuedOffset = message.offset;
    this.queue.push(message);
    this.stats.messages += 1;
    this.wake?.();
  }

  private reconnect(reason: string, delayMs?: number): void {
    this.source?.close();
    this.source = undefined;
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

/** The stand-in boundSseEvents put for an oversized event (a source sending that type itself gets no special treatment). */
function oversizedMessage(data: string): StreamMessage | undefined {
  try {
    const { offset, bytes, head } = JSON.parse(data) as OversizedEvent;
    if (typeof bytes === 'number' && typeof head === 'string') return { offset: Number.isSafeInteger(offset) ? offset : null, data: '', oversized: { bytes, head } };
  } catch {
    // not ours
  }
  return undefined;
}
