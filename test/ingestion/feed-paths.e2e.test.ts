import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceEndpoint } from '../../activities/restaurant-api/source.js';
import { startEventFeeds, type EventFeeds } from '../../generator-api/index.js';
import { statusQuery } from '../../workflows/messages.js';
import { groundTruth } from '../support/ground-truth.js';
import { startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { expectStreamMatches } from '../support/stream-facts.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const EVENTS = 2_000;
const TOKEN = 'feed-paths-token';

/**
 * Sources whose base URL has a path (`…/feeds/feed-002`, as `api --feeds` serves them): every read
 * (SSE, its resumes after dropped connections, `/events` pages and continuity checks, `/health`) stays
 * under the feed's path, so each stream lands its own feed exactly once.
 */
describe('a source URL with a path prefix', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventFeeds;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('feed_paths');
    testWorker = await startTestWorker(warehouse.pool, { label: 'feed-paths' });
    process.env.FEED_PATHS_TOKEN = TOKEN;
    api = await startEventFeeds(3, { port: 0, seed: 'feed-paths', rate: 2_000, maxEvents: EVENTS, dropEvery: 700, token: TOKEN });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
    delete process.env.FEED_PATHS_TOKEN;
  });

  it('joins endpoints under the base path, with or without a trailing slash', () => {
    expect(sourceEndpoint('http://h:8080/feeds/feed-007', 'events').href).toBe('http://h:8080/feeds/feed-007/events');
    expect(sourceEndpoint('http://h:8080/feeds/feed-007/', 'stream').href).toBe('http://h:8080/feeds/feed-007/stream');
    expect(sourceEndpoint('http://h:8080', 'health').href).toBe('http://h:8080/health');
    expect(sourceEndpoint('http://h:8080/', 'health').href).toBe('http://h:8080/health');
  });

  it('ingests realtime and polling streams from feeds under /feeds/, each exactly once', async () => {
    const [first, second, third] = api.feeds;
    const credentials = { sourceCredentials: { tokenEnv: 'FEED_PATHS_TOKEN' } };
    const streams = [
      { feed: first!, handle: await startIngestion(testWorker, 'polling', { sourceUrl: first!.url, stream: 'feed_001', ...credentials }) },
      { feed: second!, handle: await startIngestion(testWorker, 'realtime', { sourceUrl: `${second!.url}/`, stream: 'feed_002', ...credentials }) },
      // Short sessions: later ones check the source's continuity (/health, the checkpoint's event on /events) before reading on.
      { feed: third!, handle: await startIngestion(testWorker, 'realtime', { sourceUrl: third!.url, stream: 'feed_003', tuning: { sessionSeconds: 1 }, ...credentials }) },
    ];
    for (const { handle } of streams) await waitForCheckpoint(warehouse.pool, (await handle.query(statusQuery)).stream, EVENTS);
    for (const { feed, handle } of streams) {
      const status = await handle.query(statusQuery);
      await expectStreamMatches(warehouse.pool, status.stream, groundTruth(feed));
      expect(status.lastError).toBeNull();
    }
    expect(second!.stats.connectionsDropped + third!.stats.connectionsDropped).toBeGreaterThanOrEqual(4);
  });
});
