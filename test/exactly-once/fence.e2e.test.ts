import { setInterval as every } from 'node:timers/promises';
import { type ChildProcess } from 'node:child_process';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeText } from '../../activities/ingestion/decode.js';
import { BatchWriter } from '../../activities/warehouse/batch-writer.js';
import { Batch } from '../../activities/warehouse/batch.js';
import { rewindCheckpoint } from '../../activities/warehouse/checkpoints.js';
import { OWNERSHIP_LOST, takeOwnership } from '../../activities/warehouse/ownership.js';
import { generateEvents, startEventApi, type EventApi } from '../../generator-api/index.js';
import { loadProcessors } from '../../processors/registry.js';
import { warehouseDbOver } from '../../warehouse/connect.js';
import { rewindUpdate } from '../../workflows/messages.js';
import { spawnWorkerProcess } from '../support/worker-process.js';
import { groundTruth } from '../support/ground-truth.js';
import { committedOffset, expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** events_total of the stream's checkpoint row, and its rows in events_raw: always equal. */
async function totals(pool: pg.Pool, stream: string): Promise<{ eventsTotal: number; rows: number }> {
  const { rows } = await pool.query<{ events_total: string; rows: string }>(
    `SELECT (SELECT events_total FROM raw_data.stream_checkpoints WHERE stream_name = $1) AS events_total,
            (SELECT count(*) FROM raw_data.events_raw WHERE stream_name = $1) AS rows`,
    [stream],
  );
  return { eventsTotal: Number(rows[0]?.events_total ?? 0), rows: Number(rows[0]?.rows ?? 0) };
}

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
      const first = await takeOwnership(zombie, stream, 'zombie', start);
      const zombieWriter = new BatchWriter(zombie, processors, 'test', first.token);
      const early = await batchOf(1, 100);
      await zombieWriter.write({ stream, batch: early, position: { offset: 100, epoch: 1, lastEventId: early.raw.at(-1)!.eventId }, lastEventTs: null, sourceHeadOffset: null });

      // The successor takes over from the committed position and moves on.
      const second = await takeOwnership(successor, stream, 'successor', start);
      expect(second.generation).toBe(first.generation + 1);
      expect(second.position.offset).toBe(100);
      const later = await batchOf(101, 100);
      await new BatchWriter(successor, processors, 'test', second.token).write({ stream, batch: later, position: { offset: 200, epoch: 1, lastEventId: later.raw.at(-1)!.eventId }, lastEventTs: null, sourceHeadOffset: null });

      // The zombie wakes up and commits what it had read: refused, nothing of it stays.
      const stale = await batchOf(101, 50);
      await expect(zombieWriter.write({ stream, batch: stale, position: { offset: 150, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null })).rejects.toMatchObject({ type: OWNERSHIP_LOST });
      expect(await committedOffset(warehouse.pool, stream)).toBe(200);
      expect(await totals(warehouse.pool, stream)).toEqual({ eventsTotal: 200, rows: 200 });

      // A rewind revokes the owner too.
      await rewindCheckpoint(warehouseDbOver(warehouse.pool), { stream, offset: 10, epoch: 1 });
      const successorWriter = new BatchWriter(successor, processors, 'test', second.token);
      await expect(successorWriter.write({ stream, batch: await batchOf(11, 10), position: { offset: 20, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null })).rejects.toMatchObject({ type: OWNERSHIP_LOST });
      expect(await committedOffset(warehouse.pool, stream)).toBe(10);
    } finally {
      zombie.release();
      successor.release();
    }
  });

  it('events_total counts only rows actually stored: re-ingesting a batch adds nothing', async () => {
    const processors = await loadProcessors();
    const client = await warehouse.pool.connect();
    try {
      const stream = 'recount';
      const owner = await takeOwnership(client, stream, 'one', { offset: 0, epoch: 1, lastEventId: null });
      const writer = new BatchWriter(client, processors, 'test', owner.token);
      for (const offset of [300, 300, 150, 300]) {
        await writer.write({ stream, batch: await batchOf(1, offset), position: { offset, epoch: 1, lastEventId: null }, lastEventTs: null, sourceHeadOffset: null });
      }
      expect(await totals(warehouse.pool, stream)).toEqual({ eventsTotal: 300, rows: 300 });
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
    expect(await totals(warehouse.pool, handle.workflowId)).toEqual({ eventsTotal: 2_000, rows: 2_000 });
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
  });

  /** `restaurant-stack worker` as its own process, on the given task queue. */
  function spawnWorker(taskQueue: string): ChildProcess {
    return spawnWorkerProcess({ databaseUrl: warehouse.url, taskQueue });
  }

  it('a zombie session (its worker frozen past the heartbeat timeout, then thawed) moves nothing back, loses nothing, doubles nothing', async () => {
    const api = await startEventApi({ port: 0, seed: 'zombie', rate: 1_000, maxEvents: 15_000 });
    apis.push(api);
    const taskQueue = `zombie-${Date.now()}`;
    const frozen = spawnWorker(taskQueue);
    let successor: ChildProcess | undefined;
    // Watch the checkpoint the whole time: it must never move backwards.
    const seen: number[] = [];
    let watching = true;
    const watcher = (async () => {
      for await (const _tick of every(20)) {
        if (!watching) break;
        seen.push(await committedOffset(warehouse.pool, taskQueue));
      }
    })();
    try {
      const handle = await testWorker.client.workflow.start('restaurantRealtimeStream', {
        workflowId: taskQueue,
        taskQueue,
        args: [{ sourceUrl: api.url, tuning: { sessionSeconds: 60, maxBatchWaitMs: 20 } }],
      });
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
      frozen.kill('SIGSTOP');
      const frozenAt = await committedOffset(warehouse.pool, handle.workflowId);
      successor = spawnWorker(taskQueue);
      // The successor takes the stream over once the frozen session's heartbeat timed out.
      await waitForCheckpoint(warehouse.pool, handle.workflowId, frozenAt + 2_000, 120_000);
      const { rows } = await warehouse.pool.query<{ owner_generation: string }>('SELECT owner_generation FROM raw_data.stream_checkpoints WHERE stream_name = $1', [taskQueue]);
      expect(Number(rows[0]!.owner_generation)).toBeGreaterThan(1);
      frozen.kill('SIGCONT');
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 15_000, 120_000);
      watching = false;
      await watcher;
      for (let i = 1; i < seen.length; i++) expect(seen[i]!, `checkpoint went from ${seen[i - 1]} to ${seen[i]}`).toBeGreaterThanOrEqual(seen[i - 1]!);
      await expectWarehouseMatches(warehouse.pool, groundTruth(api));
      expect(await totals(warehouse.pool, taskQueue)).toEqual({ eventsTotal: 15_000, rows: 15_000 });
      await handle.cancel();
    } finally {
      watching = false;
      await watcher;
      frozen.kill('SIGCONT');
      frozen.kill('SIGKILL');
      successor?.kill('SIGKILL');
    }
  }, 240_000);
});
