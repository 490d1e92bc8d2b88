import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { describeIssues } from '../events/issues.js';
import { carriesToken } from './bearer-token.js';
import type { EventApiLog } from './log.js';
import { integerIn } from './options.js';
import type { StreamHub } from './sse.js';
import type { RetentionStore } from './store.js';

export const MAX_PAGE = 5_000;

const eventsQuery = z.object({
  since: integerIn(0).default(0),
  limit: integerIn(1, MAX_PAGE).default(1_000),
});

const resumeQuery = z.object({
  'Last-Event-ID': integerIn(0).optional(),
  since: integerIn(0).optional(),
});

/** What `/events` and `/stream` serve. */
export interface FeedRoutes {
  readonly store: RetentionStore;
  readonly hub: StreamHub;
  readonly legacy: boolean;
  /** Required as a bearer token on `/events` and `/stream` when set; `/health` and `/metrics` stay open for probes. */
  readonly token?: string;
}

/** The endpoints under one base URL: a feed's, or (at the root of a many-feed API) only `/health` and `/metrics`. */
export interface EventApiRoutes {
  readonly health: () => object;
  /** `/metrics` in the Prometheus text format. */
  readonly metrics: () => string;
  readonly feed?: FeedRoutes;
}

/** The routes serving a request path and the endpoint it names there (`/health`, …), or why none does. */
export type Router = (pathname: string) => { routes: EventApiRoutes; endpoint: string } | { missing: string };

function sendJson(response: ServerResponse, status: number, body: string | object, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** 422 naming each bad parameter and what it held, e.g. `limit: must be an integer from 1 to 5000 (got "0")`. */
function rejectParameters(response: ServerResponse, error: z.ZodError, given: Record<string, unknown>): void {
  const problems = error.issues.map((issue) => {
    const parameter = String(issue.path[0]);
    return { parameter, message: issue.message, value: given[parameter] };
  });
  sendJson(response, 422, { error: describeIssues(error, given, { root: 'query', limit: Infinity }), problems });
}

/** `/events`: the element of a malformed event (a fault) is its raw text as a JSON string, never an object. */
function servePage(routes: FeedRoutes, url: URL, response: ServerResponse): void {
  const given = Object.fromEntries(url.searchParams);
  const query = eventsQuery.safeParse(given);
  if (!query.success) return rejectParameters(response, query.error, given);
  const { since, limit } = query.data;
  const events = routes.store.after(since, limit);
  const elements = events.map((event) => (event.malformed ? JSON.stringify(event.text) : event.text));
  const nextSince = events[events.length - 1]?.offset ?? since;
  sendJson(response, 200, `{"events":[${elements.join(',')}],"next_since":${nextSince}}`);
}

function serveStream(routes: FeedRoutes, url: URL, request: IncomingMessage, response: ServerResponse): void {
  // The old source ignores every resume hint.
  if (routes.legacy) return routes.hub.open(response, undefined);
  const header = request.headers['last-event-id'];
  const given = {
    'Last-Event-ID': typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined,
    since: url.searchParams.get('since') ?? undefined,
  };
  const query = resumeQuery.safeParse(given);
  if (!query.success) return rejectParameters(response, query.error, given);
  // A reconnecting EventSource repeats its URL: the id it last received is the better resume point.
  const resumeAfter = query.data['Last-Event-ID'] ?? query.data.since;
  const { earliest } = routes.store;
  if (resumeAfter !== undefined && resumeAfter < earliest - 1) {
    return sendJson(response, 410, {
      error: `offset ${resumeAfter + 1} is no longer retained; the earliest available is ${earliest}`,
      earliest_offset: earliest,
    });
  }
  routes.hub.open(response, resumeAfter);
}

/**
 * What a response buffers before `write()` asks the SSE hub to wait for 'drain': the hub paces replays
 * and the client buffer bound by it. Node 22 raised the default from 16 KiB to 64 KiB, the smallest
 * allowed bound, so a replay could overrun the bound before being told to wait; fixed here, the hub
 * behaves the same on every Node.
 */
const RESPONSE_HIGH_WATER_MARK = 16 * 1024;

const ENDPOINTS = new Set(['/health', '/events', '/stream', '/metrics']);

/** One feed served at the root of the server. */
export function rootRouter(routes: EventApiRoutes): Router {
  return (pathname) => (ENDPOINTS.has(pathname) ? { routes, endpoint: pathname } : { missing: `no such endpoint: ${pathname}` });
}

export function createEventApiServer(router: Router, log: EventApiLog): Server {
  return createServer({ highWaterMark: RESPONSE_HIGH_WATER_MARK }, (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://event-api');
      const found = router(url.pathname);
      if ('missing' in found) return sendJson(response, 404, { error: found.missing });
      const { routes, endpoint } = found;
      const { feed } = routes;
      const feedOnly = endpoint === '/events' || endpoint === '/stream';
      if (!ENDPOINTS.has(endpoint) || (feedOnly && !feed)) return sendJson(response, 404, { error: `no such endpoint: ${url.pathname}` });
      if (request.method !== 'GET') return sendJson(response, 405, { error: `${request.method} is not allowed; use GET` }, { Allow: 'GET' });
      if (endpoint === '/health') return sendJson(response, 200, routes.health());
      if (!feed || !feedOnly) {
        const text = routes.metrics();
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
        return response.end(text);
      }
      if (!carriesToken(request, feed.token)) {
        return sendJson(response, 401, { error: 'a bearer token is required: Authorization: Bearer <token>' }, { 'WWW-Authenticate': 'Bearer realm="restaurant-event-api"' });
      }
      if (endpoint === '/events') return servePage(feed, url, response);
      return serveStream(feed, url, request, response);
    } catch (error) {
      log.warn('request failed', { url: request.url, error });
      if (!response.headersSent) sendJson(response, 500, { error: (error as Error).message });
      else response.destroy();
    }
  });
}
