import { credentialsRefused, isCredentialsRefusal, sourceEndpoint, type SourceAccess } from './source.js';

/** One element of an `/events` page: an envelope, or (from a faulty source) a raw string or other junk. */
export interface PagedEvent {
  offset: number;
  value: unknown;
  /** Set for a one-event page over the size bound: the event's size and first bytes (`value` is then undefined). */
  oversized?: { bytes: number; head: string };
}

export interface EventsPage {
  events: PagedEvent[];
  nextSince: number;
}

export class SourceRequestError extends Error {
  override name = 'SourceRequestError';
}

/** An `/events` body larger than the source access allows; only its first bytes were kept. */
export class PageTooLargeError extends SourceRequestError {
  override name = 'PageTooLargeError';
  constructor(
    readonly head: string,
    /** The whole body's size when it was measured, else how much was read before giving up. */
    readonly bytes: number,
    readonly measured: boolean,
  ) {
    super(`an /events page of ${measured ? '' : 'more than '}${bytes} bytes`);
  }
}

export interface ReadOptions {
  /** Aborts the request (cancellation, the worker stopping, a stalled session). */
  signal?: AbortSignal;
  /** Called with each chunk's size: progress, for the session's liveness. */
  onBytes?: (bytes: number) => void;
}

interface BoundedRequest {
  response: Response;
  /** The body, at most `maxPageBytes`; with `measureBeyond`, an oversized one is read to its end and counted. */
  readBody: (measureBeyond?: boolean) => Promise<Uint8Array[]>;
  /** Clears the deadlines: call it once the body is read (or abandoned). */
  done: () => void;
}

/** No byte of a body for this long ends the request. */
const BODY_IDLE_MS = 10_000;
const HEAD_BYTES = 1_024;

/**
 * fetch with deadlines: the answer's headers within `timeoutMs`, then each chunk of its body within
 * BODY_IDLE_MS. An explicit timer, since Node 20 may collect AbortSignal.timeout inside AbortSignal.any.
 */
async function fetchWithin(source: SourceAccess, url: URL, timeoutMs: number, options: ReadOptions): Promise<BoundedRequest> {
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(new SourceRequestError(`no answer from ${url.origin} within ${timeoutMs} ms`)), timeoutMs);
  const forward = () => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) forward();
  options.signal?.addEventListener('abort', forward, { once: true });
  const done = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', forward);
  };
  try {
    const response = await fetch(url, { signal: controller.signal, headers: source.headers });
    const readBody = async (measureBeyond = false): Promise<Uint8Array[]> => {
      const limit = source.maxPageBytes;
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      const reader: ReadableStreamDefaultReader<Uint8Array> = response.body!.getReader();
      const idle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new SourceRequestError(`${url.pathname}: no data from ${url.origin} for ${BODY_IDLE_MS} ms`)), BODY_IDLE_MS);
      };
      try {
        for (;;) {
          idle();
          const { done: ended, value } = await reader.read();
          if (ended) return chunks;
          bytes += value.byteLength;
          options.onBytes?.(value.byteLength);
          if (bytes <= limit) {
            chunks.push(value);
            continue;
          }
          const head = Buffer.concat([...chunks, value]).subarray(0, HEAD_BYTES).toString('utf8');
          if (!measureBeyond) throw new PageTooLargeError(head, bytes, false);
          // Counted, never kept: memory stays flat whatever the size.
          for (;;) {
            idle();
            const next = await reader.read();
            if (next.done) throw new PageTooLargeError(head, bytes, true);
            bytes += next.value.byteLength;
            options.onBytes?.(next.value.byteLength);
          }
        }
      } catch (error) {
        // An aborted read says why: the idle deadline, a cancellation, a stalled session.
        throw controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : error;
      } finally {
        reader.releaseLock();
        await response.body?.cancel().catch(() => undefined);
      }
    };
    return { response, readBody, done };
  } catch (error) {
    done();
    throw controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason : error;
  }
}

function offsetOf(value: unknown): number | null {
  const offset = typeof value === 'object' && value !== null ? (value as { offset?: unknown }).offset : undefined;
  return typeof offset === 'number' && Number.isSafeInteger(offset) ? offset : null;
}

function textOf(chunks: Uint8Array[]): string {
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * `GET /events?since=&limit=` on any source that speaks the contract. A body over the source's
 * `maxPageBytes` throws PageTooLargeError; with `measureOversized` (a one-event page) the rest of it is
 * read and counted, never kept, so the error says the event's size.
 */
export async function fetchEventsPage(source: SourceAccess, since: number, limit: number, options: ReadOptions & { measureOversized?: boolean } = {}): Promise<EventsPage> {
  const url = sourceEndpoint(source.url, 'events');
  url.searchParams.set('since', String(since));
  url.searchParams.set('limit', String(limit));
  const request = await fetchWithin(source, url, 30_000, options);
  try {
    const { response } = request;
    const what = `GET ${url.pathname}${url.search}`;
    if (isCredentialsRefusal(response.status)) throw credentialsRefused(what, response.status, await response.text().catch(() => ''));
    if (!response.ok) throw new SourceRequestError(`${what} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const chunks = await request.readBody(options.measureOversized);
    let body: { events?: unknown; next_since?: unknown };
    try {
      body = JSON.parse(textOf(chunks)) as typeof body;
    } catch (error) {
      throw new SourceRequestError(`${what} returned malformed JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(body.events)) throw new SourceRequestError(`${what} returned no "events" array`);
    // Offsets are gap-free within a page, so an element that cannot say its own (a malformed event served
    // as a raw string) takes the position after its predecessor.
    let next = since + 1;
    const events = (body.events as unknown[]).map((value) => {
      const offset = offsetOf(value) ?? next;
      next = offset + 1;
      return { offset, value };
    });
    const nextSince = typeof body.next_since === 'number' ? body.next_since : (events.at(-1)?.offset ?? since);
    return { events, nextSince };
  } finally {
    request.done();
  }
}

/** The source's head offset when its `/health` says so (an extension: the old source does not). */
export async function fetchSourceHead(source: SourceAccess, options: ReadOptions = {}): Promise<number | null> {
  try {
    const request = await fetchWithin(source, sourceEndpoint(source.url, 'health'), 5_000, options);
    try {
      if (!request.response.ok) return null;
      const body = JSON.parse(textOf(await request.readBody())) as Record<string, unknown>;
      const head = body.head_offset ?? body.headOffset ?? body.head;
      return typeof head === 'number' && Number.isSafeInteger(head) ? head : null;
    } finally {
      request.done();
    }
  } catch {
    return null;
  }
}
