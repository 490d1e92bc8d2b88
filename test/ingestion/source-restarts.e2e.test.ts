import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { statusQuery } from '../../workflows/messages.js';
import { groundTruth, type GroundTruth } from '../support/ground-truth.js';
import { expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

function union(a: GroundTruth, b: GroundTruth): GroundTruth {
  return {
    offsets: a.offsets + b.offsets,
    eventIds: new Set([...a.eventIds, ...b.eventIds]),
    malformed: a.malformed + b.malformed,
    invalid: a.invalid + b.invalid,
    valid: [...a.valid, ...b.valid],
    byType: {},
  };
}

describe('sources that compete, restart, or forget', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const apis: EventApi[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'source-restarts-'));

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('restarts');
    testWorker = await startTestWorker(warehouse.pool, { label: 'restarts' });
  });
  beforeEach(async () => {
    await stopAllIngestion();
    await warehouse.pool.query('TRUNCATE raw_data.events_raw, raw_data.events_rejected, raw_data.stream_checkpoints, raw_data.source_epochs, staging.pending_children, analytics.orders CASCADE');
  });
  afterAll(async () => {
    await stopAllIngestion();
    await Promise.all(apis.map((api) => api.close()));
    await testWorker?.stop();
    await warehouse?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function started(options: Parameters<typeof startEventApi>[0]): Promise<EventApi> {
    const api = await startEventApi(options);
    apis.push(api);
    return api;
  }

  it('legacy source whose clients compete for events: gaps are filled from /events', async () => {
    // Paused until both consumers are connected, so they really compete for the events.
    const api = await started({ port: 0, seed: 'legacy-compete', legacy: true, rate: 1_000, maxEvents: 2_000, paused: true });
    // Another consumer on the same source takes its share of the live events.
    const thief = new AbortController();
    const stolen = fetch(`${api.url}/stream`, { signal: thief.signal }).then(async (response) => {
      for await (const _chunk of response.body!) {
        /* read and discard */
      }
    }).catch(() => undefined);
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await expect.poll(() => api.connectedClients, { timeout: 30_000 }).toBe(2);
    api.resume();
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    thief.abort();
    await stolen;
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
    // Totals count finished sessions: the one that filled the gaps reports within a session length.
    await expect.poll(async () => (await handle.query(statusQuery)).totals.gapsFilled, { timeout: 10_000 }).toBeGreaterThan(0);
    await handle.cancel();
  });

  it('legacy source that restarts at offset 1: a new epoch, and its events are ingested, not dropped as seen', async () => {
    const first = await started({ port: 0, seed: 'legacy-run-1', legacy: true, rate: 2_000, maxEvents: 1_500 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: first.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 1_500);
    const firstTruth = groundTruth(first);
    const port = first.port;
    await first.close();

    const second = await started({ port, seed: 'legacy-run-2', legacy: true, rate: 2_000, maxEvents: 900 });
    await second.waitForHead(900);
    await expect
      .poll(async () => (await warehouse.pool.query('SELECT event_offset, source_epoch FROM raw_data.stream_checkpoints WHERE stream_name = $1', [handle.workflowId])).rows[0], { timeout: 60_000 })
      .toEqual({ event_offset: '900', source_epoch: '2' });
    await expectWarehouseMatches(warehouse.pool, union(firstTruth, groundTruth(second)));
    const epochs = await warehouse.pool.query<{ source_epoch: string; previous_offset: string }>('SELECT source_epoch, previous_offset FROM raw_data.source_epochs');
    expect(epochs.rows).toEqual([{ source_epoch: '2', previous_offset: '1500' }]);
    // Totals count finished sessions: the next one reports the restart.
    await expect.poll(async () => (await handle.query(statusQuery)).totals.sourceRestarts, { timeout: 10_000 }).toBe(1);
    await handle.cancel();
  });

  it('the project’s own source restarted on its data folder continues its offsets', async () => {
    const folder = path.join(dataDir, 'own-source');
    const first = await started({ port: 0, seed: 'own-restart', rate: 2_000, maxEvents: 1_000, dataDir: folder });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: first.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 1_000);
    const port = first.port;
    await first.close();

    const second = await started({ port, seed: 'own-restart', rate: 2_000, maxEvents: 2_000, dataDir: folder });
    expect(second.head).toBeGreaterThanOrEqual(1_000);
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    const ids = await warehouse.pool.query<{ n: string }>('SELECT count(DISTINCT event_id) AS n FROM raw_data.events_raw');
    expect(Number(ids.rows[0]?.n)).toBe(2_000);
    expect((await handle.query(statusQuery)).totals.sourceRestarts).toBe(0);
    await handle.cancel();
  });
});
