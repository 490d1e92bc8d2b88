/** One element of an `/events` page: an envelope, or (from a faulty source) a raw string or other junk. */
export interface PagedEvent {
  offset: number;
  value: unknown;
}

export interface EventsPage {
  events: PagedEvent[];
  nextSince: number;
}

export class SourceRequestError extends Error {
  override name = 'SourceRequestError';
}

/** fetch with a deadline; an explicit timer, since Node 20 may collect AbortSignal.timeout inside AbortSignal.any. */
async function fetchWithin(url: URL, timeoutMs: number, signal?: AbortSignal): Promise<Response> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)), timeoutMs);
  const forward = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  try {
    return await fetch(url, { signal: controller.signal });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forward);
  }
}

function offsetOf(value: unknown): number | null {
  const offset = typeof value === 'object' && value !== null ? (value as { offset?: unknown }).offset : undefined;
  return typeof offset === 'number' && Number.isSafeInteger(offset) ? offset : null;
}

/** `GET /events?since=&limit=` on any source that speaks the contract. */
export async function fetchEventsPage(sourceUrl: string, since: number, limit: number, signal?: AbortSignal): Promise<EventsPage> {
  const url = new URL('/events', sourceUrl);
  url.searchParams.set('since', String(since));
  url.searchParams.set('limit', String(limit));
  const response = await fetchWithin(url, 30_000, signal);
  if (!response.ok) throw new SourceRequestError(`GET ${url.pathname}${url.search} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  const body = (await response.json()) as { events?: unknown; next_since?: unknown };
  if (!Array.isArray(body.events)) throw new SourceRequestError(`GET ${url.pathname}${url.search} returned no "events" array`);
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
}

/** The source's head offset when its `/health` says so (an extension: the old source does not). */
export async function fetchSourceHead(sourceUrl: string, signal?: AbortSignal): Promise<number | null> {
  try {
    const response = await fetchWithin(new URL('/health', sourceUrl), 5_000, signal);
    if (!response.ok) return null;
    const body = (await response.json()) as Record<string, unknown>;
    const head = body.head_offset ?? body.headOffset ?? body.head;
    return typeof head === 'number' && Number.isSafeInteger(head) ? head : null;
  } catch {
    return null;
  }
}
