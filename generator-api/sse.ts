import type { ServerResponse } from 'node:http';
import type { Faults } from './faults.js';
import type { EventApiLog } from './log.js';
import type { WireEvent } from './sequence.js';
import type { RetentionStore } from './store.js';

/** The reconnection delay suggested to clients with `retry:`. */
export const RETRY_MS = 1_000;
const KEEP_ALIVE = ': keep-alive\n\n';
/** A generous size of one SSE frame, to turn byte budgets into event counts. */
const FRAME_BYTES_ESTIMATE = 640;

/** Events per write when replaying or producing at full speed: an eighth of a client's buffer bound, at most 512. */
export function eventsPerChunk(maxClientBufferBytes: number): number {
  return Math.max(1, Math.min(512, Math.floor(maxClientBufferBytes / 8 / FRAME_BYTES_ESTIMATE)));
}

/** `id:`, `event:`, `data:` and a blank line per event; a duplicated event (a fault) goes out twice. */
export function framesOf(events: readonly WireEvent[]): string {
  let text = '';
  for (const event of events) {
    const frame = `id: ${event.offset}\nevent: ${event.eventType}\ndata: ${event.text}\n\n`;
    text += event.duplicate ? frame + frame : frame;
  }
  return text;
}

interface StreamClient {
  readonly id: number;
  readonly response: ServerResponse;
  /** The next offset this client gets (broadcast mode). */
  nextOffset: number;
  /** Receiving new batches as they are produced; otherwise still replaying from the store. */
  live: boolean;
  /** Events sent on this connection, for the drop-every fault. */
  sent: number;
  lastWriteMs: number;
}

export interface StreamHubOptions {
  readonly store: RetentionStore;
  readonly legacy: boolean;
  readonly keepAliveMs: number;
  readonly maxClientBufferBytes: number;
  readonly faults: () => Faults;
  /** A client can take more (drained, caught up, or gone): the producer may go on at `'max'`. */
  readonly onCapacity: () => void;
  readonly log: EventApiLog;
}

export interface StreamStats {
  /** Clients disconnected because their unsent data would have passed the bound. */
  slowClientsDisconnected: number;
  /** Connections ended by the drop-every fault. */
  connectionsDropped: number;
  /** The most unsent data any client had right after a write: never above the bound. */
  peakClientBufferBytes: number;
}

/**
 * The `/stream` clients. Broadcast (the default): every client gets every event, replaying from the
 * store first when it resumes, then live. Legacy: the live events are dealt out, each to one client.
 * A client never holds more than `maxClientBufferBytes` of unsent data: past it, it is disconnected.
 */
export class StreamHub {
  readonly stats: StreamStats = { slowClientsDisconnected: 0, connectionsDropped: 0, peakClientBufferBytes: 0 };
  private readonly clients = new Set<StreamClient>();
  private readonly keepAliveTimer: NodeJS.Timeout | undefined;
  private readonly replayChunk: number;
  private nextClientId = 1;
  private legacyTurn = 0;

  constructor(private readonly options: StreamHubOptions) {
    this.replayChunk = eventsPerChunk(options.maxClientBufferBytes);
    // The old source sent no keep-alive comments: legacy mode does not either.
    if (!options.legacy) this.keepAliveTimer = setInterval(() => this.keepAlive(), options.keepAliveMs / 2);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** At `'max'` the producer goes on while this holds: no clients, or one with room in its buffer. */
  clientsReady(): boolean {
    if (this.clients.size === 0) return true;
    const roomy = Math.max(16 * 1024, this.options.maxClientBufferBytes / 16);
    for (const client of this.clients) if (client.live && client.response.writableLength < roomy) return true;
    return false;
  }

  /** Starts an SSE response; with `resumeAfter`, it replays from the next offset (the caller checked retention). */
  open(response: ServerResponse, resumeAfter: number | undefined): void {
    const { store, legacy } = this.options;
    response.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    response.socket?.setNoDelay(true);
    if (legacy) response.flushHeaders();
    else response.write(`retry: ${RETRY_MS}\n\n`);
    const replayFrom = legacy || resumeAfter === undefined ? store.head + 1 : Math.min(resumeAfter + 1, store.head + 1);
    const client: StreamClient = {
      id: this.nextClientId++,
      response,
      nextOffset: replayFrom,
      live: replayFrom > store.head,
      sent: 0,
      lastWriteMs: performance.now(),
    };
    this.clients.add(client);
    response.on('close', () => this.forget(client));
    response.on('drain', () => (client.live ? this.options.onCapacity() : this.replay(client)));
    if (!client.live) this.replay(client);
    this.options.onCapacity();
  }

  publish(batch: readonly WireEvent[]): void {
    if (this.options.legacy) return this.dealOut(batch);
    const first = batch[0];
    if (!first) return;
    let shared: string | undefined;
    for (const client of this.clients) {
      if (client.live && client.nextOffset === first.offset) this.deliver(client, batch, (shared ??= framesOf(batch)));
    }
  }

  /** Ends every stream (the server is stopping). */
  close(): void {
    clearInterval(this.keepAliveTimer);
    for (const client of this.clients) client.response.end();
    this.clients.clear();
  }

  /** Legacy: the clients compete for the live events, like consumers of one queue. */
  private dealOut(batch: readonly WireEvent[]): void {
    const clients = [...this.clients];
    if (clients.length === 0) return;
    const shares = new Map<StreamClient, WireEvent[]>();
    for (const event of batch) {
      const client = clients[this.legacyTurn++ % clients.length] as StreamClient;
      const share = shares.get(client);
      if (share) share.push(event);
      else shares.set(client, [event]);
    }
    for (const [client, events] of shares) this.deliver(client, events);
  }

  /** Sends the stored events a resuming client has not had, a chunk per drain, until it is caught up and goes live. */
  private replay(client: StreamClient): void {
    const { store } = this.options;
    while (this.clients.has(client)) {
      if (client.nextOffset > store.head) {
        client.live = true;
        this.options.onCapacity();
        return;
      }
      if (client.nextOffset < store.earliest) {
        // Overtaken by retention while replaying: a resume from here would get 410 and the earliest offset.
        this.options.log.warn('SSE client fell out of retention while replaying; disconnecting it', { client: client.id, next_offset: client.nextOffset, earliest_offset: store.earliest });
        this.end(client);
        return;
      }
      if (!this.deliver(client, store.after(client.nextOffset - 1, this.replayChunk))) return; // continued on 'drain'
    }
  }

  /** Writes `events` (already framed as `framed`, when given); false when the client cannot take more now. */
  private deliver(client: StreamClient, events: readonly WireEvent[], framed?: string): boolean {
    const { response } = client;
    const { dropEvery } = this.options.faults();
    const dropNow = dropEvery > 0 && client.sent + events.length >= dropEvery;
    const sending = dropNow ? events.slice(0, Math.max(0, dropEvery - client.sent)) : events;
    const text = dropNow || framed === undefined ? framesOf(sending) : framed;
    if (response.writableLength + text.length > this.options.maxClientBufferBytes) {
      this.stats.slowClientsDisconnected += 1;
      this.options.log.warn('disconnecting a slow SSE client rather than buffering more for it', {
        client: client.id,
        unsent_bytes: response.writableLength,
        bound_bytes: this.options.maxClientBufferBytes,
        next_offset: client.nextOffset,
      });
      this.clients.delete(client);
      response.destroy();
      return false;
    }
    const roomForMore = response.write(text);
    client.sent += sending.length;
    client.lastWriteMs = performance.now();
    const last = sending[sending.length - 1];
    if (last) client.nextOffset = last.offset + 1;
    this.stats.peakClientBufferBytes = Math.max(this.stats.peakClientBufferBytes, response.writableLength);
    if (dropNow) {
      this.stats.connectionsDropped += 1;
      this.end(client);
      return false;
    }
    return roomForMore;
  }

  private keepAlive(): void {
    const idleSince = performance.now() - this.options.keepAliveMs / 2;
    for (const client of this.clients) {
      if (client.lastWriteMs <= idleSince) {
        client.response.write(KEEP_ALIVE);
        client.lastWriteMs = performance.now();
      }
    }
  }

  private end(client: StreamClient): void {
    this.clients.delete(client);
    client.response.end();
  }

  private forget(client: StreamClient): void {
    this.clients.delete(client);
    this.options.onCapacity();
  }
}
