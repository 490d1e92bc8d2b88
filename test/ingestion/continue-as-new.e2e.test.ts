import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { statusQuery } from '../../workflows/messages.js';
import { groundTruth } from '../support/ground-truth.js';
import { expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** The test server suggests continue-as-new after ~60 history events (see test/global-setup.ts). */
describe('continue-as-new', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi | undefined;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('continue_as_new');
    testWorker = await startTestWorker(warehouse.pool, { label: 'can' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  it('carries the position and totals across runs, losing and doubling nothing', async () => {
    api = await startEventApi({ port: 0, seed: 'continue-as-new', rate: 400, maxEvents: 8_000 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url, tuning: { sessionSeconds: 1 } });
    await expect.poll(async () => (await handle.query(statusQuery)).runs, { timeout: 60_000, interval: 500 }).toBeGreaterThan(1);
    const before = await handle.query(statusQuery);
    expect(before.totals.sessions).toBeGreaterThan(3);
    expect(before.position.offset).toBeGreaterThan(0);

    api.setRate(20_000);
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 8_000);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
    await expect.poll(async () => (await handle.query(statusQuery)).position.offset, { timeout: 10_000 }).toBe(8_000);
    const after = await handle.query(statusQuery);
    expect(after.totals.events).toBeGreaterThan(before.totals.events);
    expect(after.startedAt).toBe(before.startedAt);
  });
});
