import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchEventsPage, fetchSourceHead } from '../../activities/restaurant-api/events-page.js';
import { CREDENTIALS_INVALID, resolveSourceHeaders, type SourceAccess } from '../../activities/restaurant-api/source.js';
import { SseFeed } from '../../activities/restaurant-api/sse-feed.js';
import { ConfigError, loadConfig } from '../../config/env.js';
import { DEFAULT_SOURCE_LIMITS } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { resumeSignal, statusQuery } from '../../workflows/messages.js';
import { startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const TOKEN = 'open-sesame-7f3a';

describe('source credentials', () => {
  let api: EventApi;
  beforeAll(async () => {
    api = await startEventApi({ port: 0, seed: 'credentials', rate: 2_000, maxEvents: 2_000, token: TOKEN });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
  });

  it('the event API with --token: 401 on /events and /stream without it or with a wrong one; /health stays open', async () => {
    const get = (route: string, token?: string) => fetch(`${api.url}${route}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    for (const route of ['/events?since=0&limit=1', '/stream']) {
      expect((await get(route)).status).toBe(401);
      expect((await get(route, 'wrong')).status).toBe(401);
      const allowed = await get(route, TOKEN);
      expect(allowed.status).toBe(200);
      await allowed.body?.cancel();
    }
    expect((await get('/health')).status).toBe(200);
  });

  it('resolves a token and headers from the environment variables a stream names, never echoing a value', () => {
    expect(resolveSourceHeaders(undefined, {})).toEqual({});
    expect(resolveSourceHeaders(undefined, { RESTAURANT_API_TOKEN: 't0k', RESTAURANT_API_HEADERS: '{"X-Api-Key":"k"}' })).toEqual({ Authorization: 'Bearer t0k', 'X-Api-Key': 'k' });
    expect(resolveSourceHeaders({ tokenEnv: 'EAST_TOKEN' }, { EAST_TOKEN: 'east' })).toEqual({ Authorization: 'Bearer east' });
    expect(() => resolveSourceHeaders({ tokenEnv: 'EAST_TOKEN' }, {})).toThrow(/has no EAST_TOKEN/);
    const invalid = (() => {
      try {
        resolveSourceHeaders({ headersEnv: 'EAST_HEADERS' }, { EAST_HEADERS: '{"X-Api-Key": 42, "Bad Name": "secret-value"}' });
      } catch (error) {
        return error as Error & { type?: string };
      }
    })();
    expect(invalid).toMatchObject({ type: CREDENTIALS_INVALID, message: expect.stringContaining('EAST_HEADERS') });
    expect(invalid!.message).not.toContain('secret-value');
  });

  it('RESTAURANT_API_HEADERS is validated with the rest of the configuration', () => {
    expect(loadConfig({ RESTAURANT_API_HEADERS: '{"X-Api-Key":"k"}' }).RESTAURANT_API_HEADERS).toEqual({ 'X-Api-Key': 'k' });
    expect(() => loadConfig({ RESTAURANT_API_HEADERS: 'not json' })).toThrow(ConfigError);
    expect(() => loadConfig({ RESTAURANT_API_HEADERS: '{"X-Api-Key": "secret-value"' })).toThrow(/^invalid configuration: RESTAURANT_API_HEADERS: must be a JSON object/);
    expect(() => loadConfig({ RESTAURANT_API_HEADERS: '{"X-Api-Key": "secret-value"' })).not.toThrow(/secret-value/);
  });

  it('every request to the source carries the headers: /stream, /events and /health', async () => {
    const seen: Array<[string, IncomingHttpHeaders]> = [];
    const server = createServer((request, response) => {
      seen.push([new URL(request.url ?? '/', 'http://x').pathname, request.headers]);
      if (request.url?.startsWith('/stream')) {
        response.writeHead(200, { 'Content-Type': 'text/event-stream' });
        response.write('id: 1\ndata: {}\n\n');
      } else response.end(request.url?.startsWith('/events') ? '{"events":[],"next_since":0}' : '{"status":"ok","head_offset":1}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const source: SourceAccess = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, headers: { Authorization: 'Bearer abc', 'X-Tenant': 'east' }, ...DEFAULT_SOURCE_LIMITS };
      await fetchEventsPage(source, 0, 10);
      expect(await fetchSourceHead(source)).toBe(1);
      const feed = new SseFeed(`${source.url}/stream`, { fromOffset: 0, headers: source.headers, maxEventBytes: source.maxEventBytes });
      await feed.take(1, 10, new AbortController().signal, 10_000);
      feed.close();
      expect(seen.map(([route]) => route).sort()).toEqual(['/events', '/health', '/stream']);
      for (const [, headers] of seen) expect(headers).toMatchObject({ authorization: 'Bearer abc', 'x-tenant': 'east' });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  describe('a refused credential', () => {
    let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
    let testWorker: TestWorker;
    beforeAll(async () => {
      warehouse = await createMigratedWarehouse('credentials');
      testWorker = await startTestWorker(warehouse.pool, { label: 'credentials' });
    });
    afterAll(async () => {
      await stopAllIngestion();
      await testWorker?.stop();
      await warehouse?.close();
      delete process.env.CREDENTIALS_TEST_TOKEN;
    });

    async function consumeAttempts(handle: WorkflowHandle): Promise<number> {
      const { events } = await handle.fetchHistory();
      return (events ?? []).filter((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === 'consumeStream').length;
    }

    it('pauses the stream with the reason (status, current details) after one attempt, and resumes once fixed', async () => {
      process.env.CREDENTIALS_TEST_TOKEN = 'wrong';
      const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url, sourceCredentials: { tokenEnv: 'CREDENTIALS_TEST_TOKEN' } });
      await expect.poll(async () => (await handle.query(statusQuery)).paused?.reason, { timeout: 30_000 }).toMatch(/refused the credentials.*401/);
      const status = await handle.query(statusQuery);
      expect(status.state).toBe('paused');
      expect(status.lastError?.message).toMatch(/GET \/stream answered 401/);
      const { currentDetails } = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      expect(currentDetails).toMatch(/refused the credentials/);
      // Not retried: one session, one attempt, and the workflow stays paused.
      expect(await consumeAttempts(handle)).toBe(1);
      const { events } = await handle.fetchHistory();
      expect(events?.find((event) => event.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes?.attempt).toBe(1);

      process.env.CREDENTIALS_TEST_TOKEN = TOKEN;
      await handle.signal(resumeSignal);
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
      expect((await handle.query(statusQuery)).paused).toBeNull();
    });

    it('a token variable the stream names but the worker lacks: paused, saying which', async () => {
      delete process.env.CREDENTIALS_TEST_TOKEN;
      const handle = await startIngestion(testWorker, 'polling', { sourceUrl: api.url, sourceCredentials: { tokenEnv: 'CREDENTIALS_TEST_TOKEN' } });
      await expect.poll(async () => (await handle.query(statusQuery)).paused?.reason, { timeout: 30_000 }).toMatch(/has no CREDENTIALS_TEST_TOKEN/);
    });
  });
});
