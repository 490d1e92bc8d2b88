import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { pauseSignal, resumeSignal, statusQuery } from '../../workflows/messages.js';
import { groundTruth } from '../support/ground-truth.js';
import { expectNothingCommittedWhile, expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint, waitUntilPaused } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

describe('realtime ingestion (SSE → Temporal → PostgreSQL)', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const apis: EventApi[] = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('realtime');
    testWorker = await startTestWorker(warehouse.pool, { label: 'realtime' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await Promise.all(apis.map((api) => api.close()));
    await testWorker?.stop();
    await warehouse?.close();
  });

  it('lands every event of a window exactly once, with the facts the events imply', async () => {
    const api = await startEventApi({ port: 0, seed: 'realtime-e2e', rate: 2_000, maxEvents: 4_000 });
    apis.push(api);
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 4_000);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));

    const status = await handle.query(statusQuery);
    expect(status).toMatchObject({ mode: 'realtime', stream: handle.workflowId, lastError: null });
    await handle.cancel();
    const final = (await handle.result()) as typeof status;
    expect(final.position.offset).toBe(4_000);
  });

  it('pauses within a second, writes nothing while paused, and resumes from the committed offset', async () => {
    await stopAllIngestion();
    await warehouse.pool.query('TRUNCATE raw_data.events_raw, analytics.orders CASCADE');
    const api = await startEventApi({ port: 0, seed: 'pause-e2e', rate: 500, maxEvents: 3_000 });
    apis.push(api);
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url, tuning: { sessionSeconds: 30 } });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 200);

    await handle.signal(pauseSignal, { reason: 'test pause' });
    await waitUntilPaused(handle);
    const atPause = await expectNothingCommittedWhile(warehouse.pool, handle.workflowId, api, 500);
    const paused = await handle.query(statusQuery);
    expect(paused.paused?.reason).toBe('test pause');
    expect(paused.position.offset).toBe(atPause);

    await handle.signal(resumeSignal);
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 3_000);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
    await handle.cancel();
  });
});
