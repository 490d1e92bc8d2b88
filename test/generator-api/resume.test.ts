import { describe, expect, it } from 'vitest';
import { eventApiHarness, range } from './harness.js';

describe('SSE resume, broadcast and retention', () => {
  const { start, open } = eventApiHarness({ seed: 'resume' });

  it('replays from Last-Event-ID + 1, then goes on live without a gap or a repeat', async () => {
    const api = await start({ rate: 'max', maxEvents: 1_000 });
    await api.waitForHead(1_000);
    const reader = await open(`${api.url}/stream`, { 'Last-Event-ID': '250' });
    await reader.waitForEvents(750);
    expect(reader.offsets).toEqual(range(251, 1_000));
  });

  it('replays from ?since=N + 1 while events are still being produced', async () => {
    const api = await start({ rate: 4_000, maxEvents: 3_000 });
    await api.waitForHead(300);
    const reader = await open(`${api.url}/stream?since=0`);
    await reader.waitForEvents(3_000);
    expect(reader.offsets).toEqual(range(1, 3_000));
  });

  it('prefers Last-Event-ID over ?since=, as a reconnecting EventSource repeats its URL', async () => {
    const api = await start({ rate: 'max', maxEvents: 100 });
    await api.waitForHead(100);
    const reader = await open(`${api.url}/stream?since=10`, { 'Last-Event-ID': '90' });
    await reader.waitForEvents(10);
    expect(reader.offsets).toEqual(range(91, 100));
  });

  it('without a resume point, sends only what is produced from now on', async () => {
    const api = await start({ rate: 'max', maxEvents: 600, paused: true });
    const reader = await open(`${api.url}/stream`);
    await reader.waitFor('the client to be counted', () => api.connectedClients === 1);
    api.resume();
    await reader.waitForEvents(600);
    expect(reader.offsets).toEqual(range(1, 600));
  });

  it('broadcasts every event to every client', async () => {
    const api = await start({ rate: 3_000, maxEvents: 1_500, paused: true });
    const clients = await Promise.all([1, 2, 3].map(() => open(`${api.url}/stream`)));
    await clients[0]!.waitFor('three clients', () => api.connectedClients === 3);
    api.resume();
    for (const client of clients) await client.waitForEvents(1_500);
    const expected = api.retained().map((event) => ({ id: String(event.offset), event: event.eventType, data: event.text }));
    for (const client of clients) expect(client.events).toEqual(expected);
  });

  it('answers 410 Gone with the earliest offset for a resume point older than the retention', async () => {
    const api = await start({ rate: 'max', maxEvents: 500, retention: 100 });
    await api.waitForHead(500);
    const tooOld = await open(`${api.url}/stream?since=399`);
    await tooOld.ended;
    expect(tooOld.status).toBe(410);
    expect(JSON.parse(tooOld.body)).toMatchObject({ earliest_offset: 401 });

    const oldestKept = await open(`${api.url}/stream`, { 'Last-Event-ID': '400' });
    await oldestKept.waitForEvents(100);
    expect(oldestKept.offsets).toEqual(range(401, 500));
    expect(api.earliestRetained).toBe(401);
  });

  it('replays a backlog far larger than the client buffer bound, a chunk per drain, without disconnecting', async () => {
    const api = await start({ rate: 'max', maxEvents: 20_000, retention: 20_000, maxClientBufferBytes: 64 * 1024 });
    await api.waitForHead(20_000);
    const reader = await open(`${api.url}/stream?since=0`);
    await reader.waitForEvents(20_000, 30_000);
    expect(reader.offsets).toEqual(range(1, 20_000));
    expect(api.stats.slowClientsDisconnected).toBe(0);
    expect(api.stats.peakClientBufferBytes).toBeLessThanOrEqual(64 * 1024);
  });
});
