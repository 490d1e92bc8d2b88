import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateEvents, type EventApi, type EventApiOptions } from '../../generator-api/index.js';
import { OFFSET_LEASE } from '../../generator-api/ledger.js';
import { eventApiHarness, range } from './harness.js';

interface Envelope {
  offset: number;
  event_id: string;
  event_type: string;
  ts: string;
  payload: Record<string, unknown>;
}

async function pageText(api: EventApi, since: number, limit: number): Promise<string> {
  return fetch(`${api.url}/events?since=${since}&limit=${limit}`).then((response) => response.text());
}

describe('determinism under a seed, and continuity across restarts', () => {
  const { start } = eventApiHarness({ rate: 'max' });
  const folders: string[] = [];
  const dataDir = () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'generator-api-'));
    folders.push(folder);
    return folder;
  };
  const run = async (options: EventApiOptions, until: number) => {
    const api = await start({ maxEvents: until, ...options });
    await api.waitForHead(until);
    return api;
  };
  afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

  it('serves byte-identical events for the same seed, and different ones for another seed', async () => {
    const [first, second, other] = await Promise.all([
      run({ seed: 'same' }, 5_000),
      run({ seed: 'same' }, 5_000),
      run({ seed: 'other' }, 5_000),
    ]);
    const [a, b, c] = await Promise.all([pageText(first, 0, 5_000), pageText(second, 0, 5_000), pageText(other, 0, 5_000)]);
    expect(a).toBe(b);
    const ids = (text: string) => new Set((JSON.parse(text) as { events: Envelope[] }).events.map((event) => event.event_id));
    const otherIds = ids(c);
    expect([...ids(a)].filter((id) => otherIds.has(id))).toEqual([]);
  });

  it('matches the ground truth computed without a server', async () => {
    const api = await run({ seed: 'truth', simulatedStart: '2026-03-02T18:30:00+00:00' }, 2_000);
    const truth = generateEvents({ seed: 'truth', simulatedStart: '2026-03-02T18:30:00+00:00' }, 2_000);
    expect(api.retained()).toEqual(truth);
    expect(generateEvents({ seed: 'truth', simulatedStart: '2026-03-02T18:30:00+00:00' }, 500, 1_000)).toEqual(truth.slice(1_000, 1_500));
  });

  it('continues after a clean restart exactly as an uninterrupted run would, even mid-order', async () => {
    const folder = dataDir();
    const before = await run({ seed: 'restart', dataDir: folder }, 1_234);
    await before.close();
    const after = await run({ seed: 'restart', dataDir: folder }, 3_000);
    expect(after.earliestRetained).toBe(1_235);
    const truth = generateEvents({ seed: 'restart' }, 3_000);
    expect([...before.retained(), ...after.retained()]).toEqual(truth);
    expect(await pageText(after, 1_234, 10)).toBe(`{"events":[${truth.slice(1_234, 1_244).map((event) => event.text).join(',')}],"next_since":1244}`);
  });

  it('never reuses an offset after a crash: it skips to the end of its lease, with the events an uninterrupted run has there', async () => {
    const folder = dataDir();
    const state = path.join(folder, 'generator-api', 'state.json');
    const crashed = await run({ seed: 'crash', dataDir: folder }, 700);
    copyFileSync(state, `${state}.at-crash`); // what a kill -9 now would leave behind
    await crashed.close();
    copyFileSync(`${state}.at-crash`, state);

    const restarted = await run({ seed: 'crash', dataDir: folder }, OFFSET_LEASE + 300);
    expect(restarted.earliestRetained).toBe(OFFSET_LEASE + 1);
    expect(restarted.retained()).toEqual(generateEvents({ seed: 'crash' }, 300, OFFSET_LEASE));
  });

  it('continues the offsets of an unseeded source after a restart, with new events', async () => {
    const folder = dataDir();
    const before = await run({ dataDir: folder }, 100);
    await before.close();
    const after = await run({ dataDir: folder }, 200);
    expect(after.retained().map((event) => event.offset)).toEqual(range(101, 200));
    expect(after.seed).not.toBe(before.seed);
  });

  it('on the wall clock keeps the seeded ids and values but stamps the real time of emission', async () => {
    const startedAt = new Date().toISOString();
    const api = await run({ seed: 'wall', clock: 'wall' }, 400);
    const finishedAt = new Date().toISOString();
    const wall = api.retained().map((event) => JSON.parse(event.text) as Envelope);
    const simulated = generateEvents({ seed: 'wall' }, 400).map((event) => JSON.parse(event.text) as Envelope);
    const withoutTimes = ({ ts: _ts, payload: { order_ts: _order, created_ts: _created, ...payload }, ...rest }: Envelope) => ({ ...rest, payload });
    expect(wall.map(withoutTimes)).toEqual(simulated.map(withoutTimes));
    for (const event of wall) {
      const ts = new Date(event.ts).toISOString();
      expect(ts >= startedAt.slice(0, 23) && ts <= finishedAt).toBe(true);
      if (event.event_type === 'order_created') expect(event.payload.order_ts).toBe(event.ts);
      if (event.event_type === 'feedback_submitted') expect(event.payload.created_ts).toBe(event.ts);
    }
  });
});
