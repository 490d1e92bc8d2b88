import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeText } from '../../activities/ingestion/decode.js';
import { ConnectionLender, onConnection } from '../../activities/warehouse/connection-lender.js';
import { BatchWriter } from '../../activities/warehouse/batch-writer.js';
import { Batch } from '../../activities/warehouse/batch.js';
import { rewindCheckpoint } from '../../activities/warehouse/checkpoints.js';
import { OWNERSHIP_LOST, takeOwnership } from '../../activities/warehouse/ownership.js';
import { generateEvents, startEventApi, type EventApi } from '../../generator-api/index.js';
import { loadProcessors } from '../../processors/registry.js';
import { warehouseDbOver } from '../../warehouse/connect.js';
import { rewindUpdate } from '../../workflows/messages.js';
import { groundTruth } from '../support/ground-truth.js';
import { committedOffset, expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';
import { expectZombieFenced, streamTotals } from '../support/worker-faults.js';

describe('exactly once: the fenced checkpoint and events_total', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const apis: EventApi[] = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('fence');
    testWorker = await startTestWorker(warehouse.pool, { label: 'fence' });
  });
  beforeEach(async () => {
    await stopAllIngestion();
    await warehouse.pool.query('TRUNCATE raw_data.events_raw, raw_data.events_rejected, raw_data.stream_checkpoints, staging.pending_children, analytics.orders CASCADE');
  });
  afterAll(async () => {
    await stopAllIngestion();
    await Promise.all(apis.map((api) => api.close()));
    await testWorker?.stop();
    await warehouse?.close();
  });

  async function batchOf(from: number, count: number): Promise<Batch> {
    const processors = await loadProcessors();
    const batch = new Batch();
    for (const wire of generateEvents({ seed: 'fence' }, from + count - 1).slice(from - 1)) {
      const decoded = decodeText(wire.text, wire.offset, 1, processors);
      if (decoded.kind === 'event') batch.addEvent(decoded.event, decoded.problem);
    }
    return batch;
  }

  it('a replaced session cannot commit: its batch rolls back and the checkpoint never goes back', async () => {
    const processors = await loadProcessors();
    const [zombie, successor] = [await warehouse.pool.connect(), await warehouse.pool.connect()];
    try {
      const stream = 'fenced';
      const start = { offset: 0, epoch: 1, lastEventId: null };
      const first = await takeOwnership(onConnection(zombie), stream, 'zombie', start);
      const zombieWriter = new BatchWriter(onConnection(zombie), processors, 'test').forOwner(first.token);
      const early = await batchOf(1, 100);
      await zombieWriter.write({ stream, batch: early, position: { offset: 100, epoch: 1, lastEventId: early.raw.at(-1)!.eventId }, lastEventTs: null, sourceHeadOffset: null });

      // The successor takes over from the committed position and moves on.
      const second = await takeOwnership(onConnection(successor), stream, 'successor', start);
      expect(second.generation).toBe(first.generation + 1);
      expect(second.position.offset).toBe(100);
      const later = await batchOf(101, 100);
      await new BatchWriter(onConnection(successor), processors, 'test').forOwner(second.token).write({ stream, batch: later, position: { offset: 200, epoch: 1, lastEventId: later.raw.at(-1)!.eventId }, lastEventTs: null, sourceHeadOffset: null });

      // The zombie wakes up and commits what it had read: refused, nothing of it stays.
      const stale = await batchOf(101, 50);
      await expect(zombieWriter.write({ stream, batch: stale, position: { offset: 150, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null })).rejects.toMatchObject({ type: OWNERSHIP_LOST });
      expect(await committedOffset(warehouse.pool, stream)).toBe(200);
      expect(await streamTotals(warehouse.pool, stream)).toEqual({ eventsTotal: 200, rows: 200 });

      // A rewind revokes the owner too.
      await rewindCheckpoint(warehouseDbOver(warehouse.pool), { stream, offset: 10, epoch: 1 });
      const successorWriter = new BatchWriter(onConnection(successor), processors, 'test').forOwner(second.token);
      await expect(successorWriter.write({ stream, batch: await batchOf(11, 10), position: { offset: 20, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null })).rejects.toMatchObject({ type: OWNERSHIP_LOST });
      expect(await committedOffset(warehouse.pool, stream)).toBe(10);
    } finally {
      zombie.release();
      successor.release();
    }
  });

  it('batches of several streams commit in one transaction; a replaced session\'s batch and a failing batch fail alone', async () => {
    const processors = await loadProcessors();
    const lender = new ConnectionLender(warehouse.pool, 1);
    const writer = new BatchWriter(lender, processors, 'test');
    const start = { offset: 0, epoch: 1, lastEventId: null };
    const owners = new Map<string, string>();
    for (const stream of ['together-a', 'together-b', 'replaced', 'failing', 'beside-failing']) owners.set(stream, (await takeOwnership(lender, stream, `first ${stream}`, start)).token);
    await takeOwnership(lender, 'replaced', 'successor', start);

    /** Writes the batches while the lender's only connection is busy, so they wait and go together once it is free. */
    async function writeTogether(batches: ReadonlyArray<[stream: string, batch: Batch]>) {
      let free: () => void = () => undefined;
      let busy: Promise<void> = Promise.resolve();
      await new Promise<void>((held) => {
        busy = lender.lend(() => new Promise<void>((resolve) => ((free = resolve), held())));
      });
      const outcomes = Promise.allSettled(
        batches.map(([stream, batch]) => writer.forOwner(owners.get(stream)!).write({ stream, batch, position: { offset: 10, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null })),
      );
      free();
      await busy;
      return outcomes;
    }
    const transactionsOf = async (streams: readonly string[]) =>
      Number((await warehouse.pool.query<{ n: string }>('SELECT count(DISTINCT xmin::text) AS n FROM raw_data.events_raw WHERE stream_name = ANY($1)', [streams])).rows[0]!.n);

    const [a, b, replaced] = await writeTogether([
      ['together-a', await batchOf(1, 10)],
      ['together-b', await batchOf(11, 10)],
      ['replaced', await batchOf(21, 10)],
    ]);
    expect([a!.status, b!.status]).toEqual(['fulfilled', 'fulfilled']);
    expect(replaced).toMatchObject({ status: 'rejected', reason: { type: OWNERSHIP_LOST } });
    expect(await transactionsOf(['together-a', 'together-b'])).toBe(1);

    // A batch PostgreSQL refuses fails the group's transaction: its batches are then written one by one.
    const failing = await batchOf(31, 10);
    failing.reject({ epoch: 1, offset: 41, eventId: 'not-a-uuid', raw: '', reason: 'a rejection PostgreSQL refuses' });
    const [failed, beside] = await writeTogether([
      ['failing', failing],
      ['beside-failing', await batchOf(41, 10)],
    ]);
    expect(failed).toMatchObject({ status: 'rejected', reason: { code: '22P02' } });
    expect(beside!.status).toBe('fulfilled');

    for (const stream of ['together-a', 'together-b', 'beside-failing']) expect(await streamTotals(warehouse.pool, stream)).toEqual({ eventsTotal: 10, rows: 10 });
    for (const stream of ['replaced', 'failing']) {
      expect(await committedOffset(warehouse.pool, stream)).toBe(0);
      expect(await streamTotals(warehouse.pool, stream)).toEqual({ eventsTotal: 0, rows: 0 });
    }
  });

  it('a batch that can get no connection fails (its session is retried) instead of waiting for one', async () => {
    const unreachable = { limit: 2, lend: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:9')) };
    const writer = new BatchWriter(unreachable, await loadProcessors(), 'test').forOwner('nobody');
    const writes = [1, 11].map(async (from) => writer.write({ stream: 'unreachable', batch: await batchOf(from, 10), position: { offset: from + 9, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null }));
    for (const write of writes) await expect(write).rejects.toThrow('ECONNREFUSED');
  });

  it('events_total counts only rows actually stored: re-ingesting a batch adds nothing', async () => {
    const processors = await loadProcessors();
    const client = await warehouse.pool.connect();
    try {
      const stream = 'recount';
      const owner = await takeOwnership(onConnection(client), stream, 'one', { offset: 0, epoch: 1, lastEventId: null });
      const writer = new BatchWriter(onConnection(client), processors, 'test').forOwner(owner.token);
      for (const offset of [300, 300, 150, 300]) {
        await writer.write({ stream, batch: await batchOf(1, offset), position: { offset, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null });
      }
      expect(await streamTotals(warehouse.pool, stream)).toEqual({ eventsTotal: 300, rows: 300 });
    } finally {
      client.release();
    }
  });

  it('rewind and re-ingest: events_total still equals the rows', async () => {
    const api = await startEventApi({ port: 0, seed: 'fence-rewind', rate: 3_000, maxEvents: 2_000 });
    apis.push(api);
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    await handle.executeUpdate(rewindUpdate, { args: [{ offset: 500 }] });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    await handle.executeUpdate(rewindUpdate, { args: [{ offset: 0 }] });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    expect(await streamTotals(warehouse.pool, handle.workflowId)).toEqual({ eventsTotal: 2_000, rows: 2_000 });
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
  });

  it('a zombie session (its worker frozen past the heartbeat timeout, then thawed) moves nothing back, loses nothing, doubles nothing', async () => {
    await expectZombieFenced({ pool: warehouse.pool, client: testWorker.client, workerDatabaseUrl: warehouse.url }, 'direct');
  }, 240_000);
});
