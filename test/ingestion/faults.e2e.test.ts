import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { groundTruth } from '../support/ground-truth.js';
import { expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** Each fault of the event API, against realtime and polling ingestion: nothing lost, nothing doubled. */
describe('ingestion under source faults', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const apis: EventApi[] = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('faults');
    testWorker = await startTestWorker(warehouse.pool, { label: 'faults' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await Promise.all(apis.map((api) => api.close()));
    await testWorker?.stop();
    await warehouse?.close();
  });

  const reset = async () => {
    await stopAllIngestion();
    await warehouse.pool.query('TRUNCATE raw_data.events_raw, raw_data.events_rejected, raw_data.stream_checkpoints, staging.pending_children, analytics.orders CASCADE');
  };

  async function rejections() {
    const { rows } = await warehouse.pool.query<{ reason: string; raw: string; event_offset: string | null }>('SELECT reason, raw, event_offset FROM raw_data.events_rejected');
    return rows;
  }

  for (const mode of ['realtime', 'polling'] as const) {
    it(`${mode}: malformed JSON, schema violations, duplicates, children before parents and dropped connections`, async () => {
      await reset();
      const api = await startEventApi({
        port: 0,
        seed: `faults-${mode}`,
        rate: 3_000,
        maxEvents: 3_000,
        malformedRate: 0.01,
        invalidRate: 0.02,
        duplicateRate: 0.02,
        childrenFirstRate: 0.2,
        dropEvery: 400,
      });
      apis.push(api);
      const handle = await startIngestion(testWorker, mode, { sourceUrl: api.url });
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 3_000);
      const truth = groundTruth(api);
      expect(truth.malformed).toBeGreaterThan(0);
      expect(truth.invalid).toBeGreaterThan(0);
      await expectWarehouseMatches(warehouse.pool, truth);

      const rejected = await rejections();
      const malformed = rejected.filter((r) => r.reason.startsWith('malformed JSON') || r.reason.startsWith('invalid envelope'));
      const invalid = rejected.filter((r) => /^invalid \w+ payload/.test(r.reason));
      expect(malformed.length).toBe(truth.malformed);
      expect(invalid.length).toBe(truth.invalid);
      for (const row of malformed) expect(row.raw.length).toBeGreaterThan(0);
      await handle.cancel();
    });
  }
});
