import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventSource } from 'eventsource';
import { afterAll, describe, expect, it } from 'vitest';
import { KNOWN_EVENT_TYPES } from '../../events/index.js';
import { verdictOf } from '../support/verdict.js';
import { eventApiHarness, range } from './harness.js';
import { fetchAllEvents, getJson } from './sse-client.js';

describe('fault injection', () => {
  const { start, open } = eventApiHarness({ seed: 'faults', rate: 'max' });
  const folders: string[] = [];
  afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('is all off by default', async () => {
    const api = await start({ maxEvents: 2_000 });
    await api.waitForHead(2_000);
    expect(api.faults).toEqual({ dropEvery: 0, malformedRate: 0, invalidRate: 0, duplicateRate: 0, childrenFirstRate: 0 });
    for (const event of api.retained()) expect(verdictOf(event.text)).toBe('valid');
  });

  it('drops each SSE connection after N events; resuming with Last-Event-ID loses nothing', async () => {
    const api = await start({ maxEvents: 1_000, dropEvery: 300 });
    await api.waitForHead(1_000);
    const first = await open(`${api.url}/stream?since=0`);
    await first.ended;
    expect(first.offsets).toEqual(range(1, 300));
    const second = await open(`${api.url}/stream`, { 'Last-Event-ID': '300' });
    await second.ended;
    expect(second.offsets).toEqual(range(301, 600));
    expect(api.stats.connectionsDropped).toBe(2);
  });

  it('lets a real EventSource client reconnect through the drops and receive every event once', async () => {
    const api = await start({ maxEvents: 900, dropEvery: 400, paused: true });
    const received: number[] = [];
    let opened = 0;
    const source = new EventSource(`${api.url}/stream?since=0`);
    source.addEventListener('open', () => (opened += 1));
    for (const type of KNOWN_EVENT_TYPES) source.addEventListener(type, (event) => received.push(Number(event.lastEventId)));
    api.resume();
    const deadline = Date.now() + 15_000;
    while (received.length < 900 && Date.now() < deadline) await sleep(20);
    source.close();
    expect(received).toEqual(range(1, 900));
    expect(opened).toBe(3);
  });

  it('emits malformed JSON with a proper offset: broken data on SSE, a raw JSON string on /events', async () => {
    const api = await start({ maxEvents: 4_000, malformedRate: 0.05 });
    await api.waitForHead(4_000);
    const page = await fetchAllEvents(api.url);
    const raw = page.filter((element): element is string => typeof element === 'string');
    expect(raw.length).toBeGreaterThan(100);
    expect(raw.length).toBeLessThan(300);
    for (const text of raw) {
      expect(() => JSON.parse(text)).toThrow();
      expect(text).not.toMatch(/[\r\n]/);
      expect(verdictOf(text)).toMatch(/^malformed JSON: /);
    }
    // Offsets stay gap-free around them: each object's offset is its position in the stream.
    page.forEach((element, index) => typeof element === 'object' && expect((element as { offset: number }).offset).toBe(index + 1));

    const reader = await open(`${api.url}/stream?since=0`);
    await reader.waitForEvents(4_000);
    expect(reader.offsets).toEqual(range(1, 4_000));
    const malformed = reader.events.filter((event) => typeof page[Number(event.id) - 1] === 'string');
    expect(malformed.map((event) => event.data)).toEqual(raw);
  });

  it('emits well-formed envelopes whose payloads break the contract in several ways', async () => {
    const api = await start({ maxEvents: 4_000, invalidRate: 0.05 });
    await api.waitForHead(4_000);
    const events = (await fetchAllEvents(api.url)) as Array<Record<string, unknown>>;
    const reasons = events.flatMap((event) => {
      const verdict = verdictOf(event);
      expect(verdict).not.toMatch(/^invalid envelope/);
      return verdict === 'valid' ? [] : [verdict];
    });
    expect(reasons.length).toBeGreaterThan(100);
    const fields = new Set(reasons.map((reason) => /^invalid \w+ payload: (\w+)/.exec(reason)?.[1]));
    for (const field of ['qty', 'service_type', 'order_id', 'rating', 'unit_price', 'method']) expect(fields).toContain(field);
  });

  it('sends some events twice on the stream (same offset and event_id) but never on /events', async () => {
    const api = await start({ maxEvents: 3_000, duplicateRate: 0.05 });
    await api.waitForHead(3_000);
    const reader = await open(`${api.url}/stream?since=0`);
    await reader.waitFor('every offset', () => reader.offsets.at(-1) === 3_000);
    const repeats = reader.events.filter((event, i) => i > 0 && event.id === reader.events[i - 1]!.id);
    expect(repeats.length).toBeGreaterThan(80);
    for (const repeat of repeats) expect(reader.events.filter((event) => event.id === repeat.id && event.data === repeat.data)).toHaveLength(2);
    expect([...new Set(reader.offsets)]).toEqual(range(1, 3_000));
    expect((await fetchAllEvents(api.url)).map((event) => (event as { offset: number }).offset)).toEqual(range(1, 3_000));
  });

  it('sends the items and payment of some orders before their order_created, offsets still ascending', async () => {
    const api = await start({ maxEvents: 2_000, childrenFirstRate: 0.3 });
    await api.waitForHead(2_000);
    const events = (await fetchAllEvents(api.url)) as Array<{ offset: number; event_type: string; payload: { order_id: string } }>;
    expect(events.map((event) => event.offset)).toEqual(range(1, 2_000));
    const createdAt = new Map(events.filter((event) => event.event_type === 'order_created').map((event) => [event.payload.order_id, event.offset]));
    const early = events.filter((event) => event.event_type !== 'order_created' && event.offset < (createdAt.get(event.payload.order_id) ?? 0));
    const orphanOrders = new Set(early.map((event) => event.payload.order_id));
    expect(orphanOrders.size).toBeGreaterThan(100);
    expect(new Set(early.map((event) => event.event_type))).toEqual(new Set(['order_item_added', 'payment_captured']));
  });

  it('pauses the stream: connections stay open with keep-alives, and nothing is produced until resumed', async () => {
    const api = await start({ rate: 2_000, paused: true, keepAliveMs: 50 });
    const reader = await open(`${api.url}/stream`);
    await reader.waitFor('keep-alives', () => reader.comments.length >= 3);
    expect(api.head).toBe(0);
    api.resume();
    await reader.waitForEvents(50);
    api.pause();
    const head = api.head;
    const keepAlives = reader.comments.length;
    await reader.waitFor('keep-alives while paused', () => reader.comments.length >= keepAlives + 3);
    expect(api.head).toBe(head);
    expect((await getJson<{ paused: boolean }>(`${api.url}/health`)).body.paused).toBe(true);
  });

  it('changes faults at runtime', async () => {
    const api = await start({ maxEvents: 3_000, paused: true });
    api.setFaults({ duplicateRate: 1 });
    const reader = await open(`${api.url}/stream`);
    api.resume();
    await reader.waitFor('every offset', () => reader.offsets.at(-1) === 3_000);
    expect(reader.events.length).toBeGreaterThan(5_900); // all but the events of the order under way when set
    expect(() => api.setFaults({ malformedRate: 2 })).toThrow(/probability/);
  });

  describe('legacy mode (the old source)', () => {
    it('deals the live events out to competing clients, each event to one client', async () => {
      const api = await start({ legacy: true, maxEvents: 2_000, paused: true });
      const clients = await Promise.all([open(`${api.url}/stream`), open(`${api.url}/stream`)]);
      await clients[0].waitFor('two clients', () => api.connectedClients === 2);
      api.resume();
      await api.waitForHead(2_000);
      await clients[0].waitFor('all events', () => clients[0].events.length + clients[1].events.length === 2_000);
      const [a, b] = clients.map((client) => client.offsets);
      expect(a!.length).toBeGreaterThan(500);
      expect(b!.length).toBeGreaterThan(500);
      expect([...a!, ...b!].sort((x, y) => x - y)).toEqual(range(1, 2_000));
      expect(clients[0].retry).toBeUndefined();
    });

    it('ignores Last-Event-ID and since, and answers /health with the contract fields only', async () => {
      const api = await start({ legacy: true, rate: 2_000, maxEvents: 1_500 });
      await api.waitForHead(300);
      const producedBefore = api.head;
      const reader = await open(`${api.url}/stream?since=0`, { 'Last-Event-ID': '5' });
      await reader.waitForEvents(1);
      expect(reader.status).toBe(200);
      // The first event it gets is a live one: nothing before the connection is replayed.
      expect(reader.offsets[0]).toBeGreaterThan(producedBefore);
      await api.waitForHead(1_500);
      expect((await getJson(`${api.url}/health`)).body).toEqual({ status: 'ok', stored: 1_500 });
      expect((await fetchAllEvents(api.url)).length).toBe(1_500);
    });

    it('restarts its offsets at 1 on every start, whatever the data folder holds', async () => {
      const folder = mkdtempSync(path.join(os.tmpdir(), 'generator-api-legacy-'));
      folders.push(folder);
      const first = await start({ legacy: true, seed: undefined, dataDir: folder, maxEvents: 100 });
      await first.waitForHead(100);
      await first.close();
      const second = await start({ legacy: true, seed: undefined, dataDir: folder, maxEvents: 100 });
      await second.waitForHead(100);
      expect(second.retained().map((event) => event.offset)).toEqual(range(1, 100));
      expect(second.retained()[0]!.text).not.toBe(first.retained()[0]!.text);
      expect(existsSync(path.join(folder, 'generator-api'))).toBe(false);
    });
  });
});
