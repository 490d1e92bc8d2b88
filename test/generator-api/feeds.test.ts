import { afterEach, describe, expect, it } from 'vitest';
import { feedName, generateEvents, startEventFeeds, type EventFeeds } from '../../generator-api/index.js';
import { parsePrometheus } from '../support/prometheus.js';
import { fetchAllEvents, getJson, SseReader } from './sse-client.js';

describe('event API with many feeds', () => {
  let api: EventFeeds | undefined;
  const readers: SseReader[] = [];
  afterEach(async () => {
    for (const reader of readers.splice(0)) reader.close();
    await api?.close();
    api = undefined;
  });

  it('names feeds feed-001 … with at least three digits', () => {
    expect([1, 42, 200, 1000].map(feedName)).toEqual(['feed-001', 'feed-042', 'feed-200', 'feed-1000']);
  });

  it('serves each feed under /feeds/<name> from its own seed, the base seed and its number', async () => {
    api = await startEventFeeds(3, { port: 0, seed: 'many', rate: 'max', maxEvents: 300 });
    expect(api.feeds.map((feed) => feed.url)).toEqual([1, 2, 3].map((n) => `${api!.url}/feeds/feed-00${n}`));
    await Promise.all(api.feeds.map((feed) => feed.waitForHead(300)));
    const served = await Promise.all(api.feeds.map((feed) => fetchAllEvents(feed.url)));
    served.forEach((events, index) => {
      const truth = generateEvents({ seed: `many/${feedName(index + 1)}`, rate: 'max' }, 300).map((event) => JSON.parse(event.text));
      expect(events).toEqual(truth);
    });
    expect(new Set(served.map((events) => (events[0] as { event_id: string }).event_id)).size).toBe(3);

    const health = await getJson<{ head_offset: number; seed: string }>(`${api.feeds[1]!.url}/health`);
    expect(health.body).toMatchObject({ head_offset: 300, seed: 'many/feed-002' });
    const root = await getJson<{ feeds: number }>(`${api.url}/health`);
    expect(root.body).toMatchObject({ status: 'ok', feeds: 3 });
  });

  it('streams and resumes under a feed path, with the token; unknown feeds and root streams are 404', async () => {
    api = await startEventFeeds(2, { port: 0, seed: 'paths', rate: 'max', maxEvents: 100, token: 'secret' });
    const [, second] = api.feeds;
    await second!.waitForHead(100);
    const auth = { Authorization: 'Bearer secret' };
    expect((await SseReader.open(`${second!.url}/stream`)).status).toBe(401);
    const reader = await SseReader.open(`${second!.url}/stream?since=40`, auth);
    readers.push(reader);
    await reader.waitForEvents(60);
    expect(reader.offsets).toEqual(Array.from({ length: 60 }, (_, i) => 41 + i));
    expect(reader.events.map((event) => JSON.parse(event.data))).toEqual(second!.retained(40).map((event) => JSON.parse(event.text)));
    expect(api.feeds[0]!.connectedClients).toBe(0);

    const page = await fetch(`${second!.url}/events?since=90&limit=5`, { headers: auth });
    expect(((await page.json()) as { next_since: number }).next_since).toBe(95);
    for (const path of ['/feeds/feed-003/health', '/feeds/feed-001', '/feeds/feed-001/nothing', '/stream', '/events']) {
      const response = await fetch(`${api.url}${path}`, { headers: auth });
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as { error: string }).error).toMatch(/no such (feed|endpoint)/);
    }
  });

  it('labels each feed in the root /metrics; a feed keeps its own unlabelled ones', async () => {
    api = await startEventFeeds(2, { port: 0, seed: 'metrics', rate: 'max', maxEvents: 50 });
    await Promise.all(api.feeds.map((feed) => feed.waitForHead(50)));
    const root = await (await fetch(`${api.url}/metrics`)).text();
    expect(root.match(/^# TYPE restaurant_api_head_offset gauge$/gm)).toHaveLength(1);
    const labelled = parsePrometheus(root);
    expect(labelled.get('restaurant_api_head_offset{feed="feed-001"}')).toBe(50);
    expect(labelled.get('restaurant_api_head_offset{feed="feed-002"}')).toBe(50);
    const own = parsePrometheus(await (await fetch(`${api.feeds[0]!.url}/metrics`)).text());
    expect(own.get('restaurant_api_head_offset')).toBe(50);
    expect(own.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('refuses a feed count outside 1..1000', async () => {
    for (const count of [0, -1, 2.5, 1001]) await expect(startEventFeeds(count, { port: 0 })).rejects.toThrow(/integer from 1 to 1000/);
  });
});
