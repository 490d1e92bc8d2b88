import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEventPlugin, loadProcessors } from '../../processors/registry.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { expectedFacts, groundTruth } from '../support/ground-truth.js';
import { expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const PLUGIN = 'plugins/loyalty-points.ts';

describe('custom event processors (EVENT_PROCESSORS_MODULE)', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi | undefined;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('plugin');
    await warehouse.pool.query((await loadEventPlugin(PLUGIN)).warehouseSetupSql!);
    testWorker = await startTestWorker(warehouse.pool, { label: 'plugin', processors: await loadProcessors(PLUGIN) });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  it('the loyalty-points example replaces payment_captured: payments land as before, and points are earned', async () => {
    api = await startEventApi({ port: 0, seed: 'loyalty', rate: 3_000, maxEvents: 2_500, childrenFirstRate: 0.2 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_500);
    const truth = groundTruth(api);
    await expectWarehouseMatches(warehouse.pool, truth);

    const payments = truth.valid.flatMap((event) => (event.event_type === 'payment_captured' ? [event.payload] : []));
    const { rows } = await warehouse.pool.query<{ n: string; points: string }>('SELECT count(*) AS n, sum(points) AS points FROM analytics.loyalty_points');
    expect(Number(rows[0]?.n)).toBe(expectedFacts(truth.valid).payments);
    expect(Number(rows[0]?.points)).toBe(payments.reduce((sum, payment) => sum + Math.floor(payment.amount), 0));
  });

  it('a module that is not a processor plugin is refused with a clear reason', async () => {
    await expect(loadEventPlugin('config/env.ts')).rejects.toThrow(/EVENT_PROCESSORS_MODULE config\/env\.ts: processors/);
  });
});
