import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One dispatched SSE event, its fields as received. */
export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

/**
 * A plain SSE reader over node:http that keeps everything it saw (events, comments, retry hints),
 * so tests can assert on the exact framing. It never reconnects on its own.
 */
export class SseReader {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** The body of a non-200 answer. */
  body = '';
  /** Settles when the server ends or drops the connection (or `close()` is called). */
  readonly ended: Promise<void>;
  private pending = '';
  private fields: { id?: string; event?: string; data?: string[] } = {};
  private finished = false;

  private constructor(
    readonly status: number,
    readonly headers: http.IncomingHttpHeaders,
    private readonly response: http.IncomingMessage,
  ) {
    response.setEncoding('utf8');
    this.ended = new Promise((resolve) => {
      const done = () => {
        this.finished = true;
        resolve();
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    response.on('data', (chunk: string) => (status === 200 ? this.feed(chunk) : (this.body += chunk)));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    return new Promise((resolve, reject) => {
      const request = http.get(url, { headers: { Accept: 'text/event-stream', ...headers } }, (response) =>
        resolve(new SseReader(response.statusCode ?? 0, response.headers, response)),
      );
      request.on('error', reject);
    });
  }

  get isEnded(): boolean {
    return this.finished;
  }

  /** The offsets of the events received, in order (duplicates included). */
  get offsets(): number[] {
    return this.events.map((event) => Number(event.id));
  }

  async waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${this.events.length} events`);
      await sleep(10);
    }
  }

  waitForEvents(count: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(`${count} events`, () => this.events.length >= count, timeoutMs);
  }

  /** Stops reading: the server's writes pile up in the socket buffers, as with a stalled client. */
  stall(): void {
    this.response.pause();
  }

  close(): void {
    this.response.destroy();
  }

  private feed(chunk: string): void {
    const lines = (this.pending + chunk).split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (this.fields.data) this.events.push({ id: this.fields.id, event: this.fields.event, data: this.fields.data.join('\n') });
        this.fields = {};
        continue;
      }
      if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') (this.fields.data ??= []).push(value);
      else if (field === 'id') this.fields.id = value;
      else if (field === 'event') this.fields.event = value;
      else if (field === 'retry') this.retry = Number(value);
    }
  }
}

export async function getJson<T = unknown>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

/** Every retained event's wire text from `/events`, paging through with `next_since`. */
export async function fetchAllEvents(baseUrl: string, since = 0, pageSize = 5_000): Promise<unknown[]> {
  const all: unknown[] = [];
  for (;;) {
    const { body } = await getJson<{ events: unknown[]; next_since: number }>(`${baseUrl}/events?since=${since}&limit=${pageSize}`);
    all.push(...body.events);
    if (body.events.length === 0) return all;
    since = body.next_since;
  }
}
