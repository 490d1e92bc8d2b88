import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMaintenanceSchedule } from '../../clients/maintenance-schedule.js';
import { loadConfig } from '../../config/env.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { MAINTENANCE_WORKFLOW_TYPE, type MaintenanceInput } from '../../contracts/maintenance.js';
import type { MaintenanceOutcome } from '../../contracts/maintenance.js';
import { groundTruth } from '../support/ground-truth.js';
import { startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

describe('maintenance', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi | undefined;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('maintenance');
    testWorker = await startTestWorker(warehouse.pool, { label: 'maintenance' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  it('records checks, deletes only expired raw events in chunks while ingestion keeps running, and analyzes', async () => {
    api = await startEventApi({ port: 0, seed: 'maintenance', rate: 1_500, maxEvents: 6_000 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    // The first 1,000 events pretend to be ten days old.
    await warehouse.pool.query(`UPDATE raw_data.events_raw SET ingested_at = now() - interval '10 days' WHERE event_offset <= 1000`);

    const input: MaintenanceInput = { retentionDays: 7, retentionChunkRows: 150, retentionMaxChunks: 100 };
    const outcomes = (await testWorker.client.workflow.execute(MAINTENANCE_WORKFLOW_TYPE, {
      workflowId: `maintenance-${Date.now()}`,
      taskQueue: testWorker.taskQueue,
      args: [input],
    })) as MaintenanceOutcome[];
    expect(outcomes.map((outcome) => outcome.task)).toEqual(['health_check', 'data_consistency', 'raw_retention', 'rollup_folding', 'analyze']);
    expect(outcomes.every((outcome) => outcome.status !== 'failed')).toBe(true);

    const { rows: raw } = await warehouse.pool.query<{ n: string; oldest: string }>('SELECT count(*) AS n, min(event_offset) AS oldest FROM raw_data.events_raw');
    expect(Number(raw[0]?.oldest)).toBe(1_001);
    const { rows: results } = await warehouse.pool.query<{ task: string; status: string; details: Record<string, unknown> }>(
      'SELECT task, status, details FROM analytics.maintenance_results ORDER BY id',
    );
    expect(results.map((row) => row.task)).toEqual(['health_check', 'data_consistency', 'raw_retention', 'rollup_folding', 'analyze']);
    const retention = results.find((row) => row.task === 'raw_retention')!;
    expect(retention).toMatchObject({ status: 'ok', details: { deleted: 1_000, finished: true } });
    expect(retention.details.chunks).toBeGreaterThanOrEqual(7);
    expect(['healthy', 'warning', 'critical']).toContain(results[0]!.status);
    // The simulated orders are weeks old: their days' write slots and months are folded, figures unchanged.
    expect(results.find((row) => row.task === 'rollup_folding')).toMatchObject({ status: 'ok', details: { remaining: 0 } });
    expect((await warehouse.pool.query("SELECT * FROM analytics.rollup_discrepancies('-infinity')")).rows).toEqual([]);

    // Ingestion went on during and after retention: the facts are whole.
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 6_000);
    const truth = groundTruth(api);
    const { rows: facts } = await warehouse.pool.query<{ n: string }>('SELECT count(*) AS n FROM analytics.orders');
    expect(Number(facts[0]?.n)).toBe(truth.byType.order_created);
  });

  it('the Schedule is created once and updated afterwards', async () => {
    const config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: testWorker.taskQueue, MAINTENANCE_SCHEDULE_ID: `maintenance-${Date.now()}`, MAINTENANCE_INTERVAL_MINUTES: 30 };
    expect(await ensureMaintenanceSchedule(testWorker.client, config)).toMatchObject({ created: true });
    const handle = testWorker.client.schedule.getHandle(config.MAINTENANCE_SCHEDULE_ID);
    await handle.pause('operator pause');
    expect(await ensureMaintenanceSchedule(testWorker.client, { ...config, MAINTENANCE_INTERVAL_MINUTES: 5 })).toMatchObject({ created: false });
    const description = await handle.describe();
    expect(description.spec.intervals?.[0]?.every).toBe(5 * 60_000);
    expect(description.state.paused).toBe(true);
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: MAINTENANCE_WORKFLOW_TYPE });
    await handle.delete();
  });
});
