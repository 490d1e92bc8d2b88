import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { verdictOf } from '../support/verdict.js';
import { range } from './harness.js';
import { getJson, SseReader } from './sse-client.js';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00$/;

describe('the wire contract (EVENTS.md)', () => {
  let api: EventApi;
  beforeAll(async () => {
    api = await startEventApi({ port: 0, seed: 'contract', rate: 'max', maxEvents: 3_000, keepAliveMs: 100 });
    await api.waitForHead(3_000);
  });
  afterAll(() => api?.close());

  it('serves pages of valid envelopes, ascending after `since`, with next_since', async () => {
    const first = await getJson<{ events: Array<Record<string, unknown>>; next_since: number }>(`${api.url}/events`);
    expect(first.status).toBe(200);
    expect(first.body.events).toHaveLength(1_000);
    expect(first.body.events.map((event) => event.offset)).toEqual(range(1, 1_000));
    expect(first.body.next_since).toBe(1_000);
    for (const event of first.body.events) {
      expect(verdictOf(event)).toBe('valid');
      expect(Object.keys(event)).toEqual(['offset', 'event_id', 'event_type', 'ts', 'partition_key', 'payload']);
      expect(event.ts).toMatch(TIMESTAMP);
      expect(event.partition_key).toMatch(/^LOC-ON-(00[1-9]|01[0-2])$/);
      const { location_code: locationCode } = event.payload as { location_code?: string };
      if (locationCode !== undefined) expect(locationCode).toBe(event.partition_key);
    }

    const page = await getJson<{ events: Array<{ offset: number }>; next_since: number }>(`${api.url}/events?since=2990&limit=5000`);
    expect(page.body.events.map((event) => event.offset)).toEqual([2991, 2992, 2993, 2994, 2995, 2996, 2997, 2998, 2999, 3000]);
    expect(page.body.next_since).toBe(3_000);

    const beyond = await getJson<{ events: unknown[]; next_since: number }>(`${api.url}/events?since=3000`);
    expect(beyond.body).toEqual({ events: [], next_since: 3_000 });
  });

  it('keeps every order in contract order: order_created, 1–4 items, payment, maybe feedback', async () => {
    const events = api.retained().map((event) => JSON.parse(event.text) as { event_type: string; payload: { order_id: string } });
    const shapes = new Map<string, string[]>();
    for (const event of events) shapes.set(event.payload.order_id, [...(shapes.get(event.payload.order_id) ?? []), event.event_type]);
    const complete = [...shapes.values()].slice(0, -1); // the last order may be cut by maxEvents
    for (const shape of complete) expect(shape.join(' ')).toMatch(/^order_created( order_item_added){1,4} payment_captured( feedback_submitted)?$/);
    // One order's events are consecutive in the stream.
    const orderOf = events.map((event) => event.payload.order_id);
    expect(new Set(orderOf.filter((id, i) => id !== orderOf[i - 1])).size).toBe(shapes.size);
  });

  it.each([
    ['since=-1', 'since'],
    ['since=abc', 'since'],
    ['since=1.5', 'since'],
    ['since=', 'since'],
    ['limit=0', 'limit'],
    ['limit=5001', 'limit'],
    ['limit=ten', 'limit'],
  ])('answers /events?%s with 422 and a JSON error naming %s', async (query, parameter) => {
    const { status, body } = await getJson<{ error: string; problems: Array<{ parameter: string }> }>(`${api.url}/events?${query}`);
    expect(status).toBe(422);
    expect(body.error).toContain(parameter);
    expect(body.problems.map((problem) => problem.parameter)).toEqual([parameter]);
  });

  it('answers 404 for unknown paths and 405 for other methods, in JSON', async () => {
    expect((await getJson(`${api.url}/nope`)).status).toBe(404);
    const post = await fetch(`${api.url}/events`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('reports health with the contract fields and the extensions', async () => {
    const { status, body } = await getJson<Record<string, unknown>>(`${api.url}/health`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: 'ok',
      stored: 3_000,
      head_offset: 3_000,
      earliest_offset: 1,
      connected_clients: 0,
      seed: 'contract',
      clock: 'simulated',
      finished: true,
    });
    expect(body.events_per_second).toEqual(expect.any(Number));
  });

  it('frames SSE events as id/event/data with the exact /events text, after a retry hint', async () => {
    const reader = await SseReader.open(`${api.url}/stream?since=0`);
    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toBe('text/event-stream');
    expect(reader.headers['cache-control']).toBe('no-cache');
    await reader.waitForEvents(3_000);
    reader.close();
    expect(reader.retry).toBe(1_000);
    const retained = api.retained();
    expect(reader.events).toEqual(retained.map((event) => ({ id: String(event.offset), event: event.eventType, data: event.text })));
    const page = await fetch(`${api.url}/events?since=0&limit=5`).then((response) => response.text());
    expect(page).toBe(`{"events":[${retained.slice(0, 5).map((event) => event.text).join(',')}],"next_since":5}`);
  });

  it('sends keep-alive comments on an idle stream', async () => {
    const reader = await SseReader.open(`${api.url}/stream`);
    await reader.waitFor('two keep-alive comments', () => reader.comments.filter((comment) => comment === 'keep-alive').length >= 2);
    reader.close();
    expect(reader.events).toEqual([]);
  });

  it('rejects a bad resume point on /stream with 422', async () => {
    const bySince = await SseReader.open(`${api.url}/stream?since=x`);
    const byHeader = await SseReader.open(`${api.url}/stream`, { 'Last-Event-ID': 'abc' });
    await Promise.all([bySince.ended, byHeader.ended]);
    expect([bySince.status, byHeader.status]).toEqual([422, 422]);
    expect(JSON.parse(byHeader.body).error).toContain('Last-Event-ID');
  });
});
