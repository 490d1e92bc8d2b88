import { type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { defineProcessor, payloadRecords } from '../../processors/processor.js';
import { loadProcessors } from '../../processors/registry.js';
import { orderItemAdded, paymentCaptured } from '../../processors/restaurant-facts.js';
import { warehouseDbOver } from '../../warehouse/connect.js';
import { setLocation } from '../../warehouse/locations.js';
import { rebuildRollups } from '../../warehouse/rollups.js';
import { REPROCESS_WORKFLOW_TYPE } from '../../contracts/reprocess.js';
import { pauseSignal, reprocessProgressQuery, resumeSignal, rewindUpdate } from '../../workflows/messages.js';
import type { ReprocessInput, ReprocessProgress } from '../../contracts/reprocess.js';
import { spawnWorkerProcess } from '../support/worker-process.js';
import { committedOffset, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';
import { expectViewsMatchFacts, rollupTotals } from './equivalence.js';

/*
 * Two sources at once (two streams writing concurrently), their simulated clocks starting seconds
 * before a daylight-saving change: Toronto's spring forward (2026-03-08 07:00Z, 02:00 → 03:00) and
 * Adelaide's fall back (2026-04-04 16:30Z, 03:00 → 02:00), so hours and days split differently in
 * each session time zone the views are read in, half-hour zones included. Locations change zone and
 * cut-off while both streams write.
 */
describe('rollups after real ingestion under faults', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const apis: EventApi[] = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('rollups');
    testWorker = await startTestWorker(warehouse.pool, { label: 'rollups' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await Promise.all(apis.map((api) => api.close()));
    await testWorker?.stop();
    await warehouse?.close();
  });

  async function started(options: Parameters<typeof startEventApi>[0]): Promise<EventApi> {
    const api = await startEventApi(options);
    apis.push(api);
    return api;
  }

  async function reprocess(worker: TestWorker, input: ReprocessInput): Promise<ReprocessProgress> {
    return worker.client.workflow.execute(REPROCESS_WORKFLOW_TYPE, {
      workflowId: `reprocess-${Date.now()}`,
      taskQueue: worker.taskQueue,
      args: [input],
    }) as Promise<ReprocessProgress>;
  }

  it('duplicates, children first, drops, malformed, a restart, a rewind, a rebuild and a reprocess while ingesting: views equal the facts', async () => {
    const faults = { malformedRate: 0.01, invalidRate: 0.02, duplicateRate: 0.03, childrenFirstRate: 0.25 };
    const newYork = await started({ port: 0, seed: 'rollups-ny', rate: 1_500, maxEvents: 5_000, dropEvery: 700, simulatedStart: '2026-03-08T06:59:50.000000+00:00', ...faults });
    const tokyo = await started({ port: 0, seed: 'rollups-tokyo', legacy: true, rate: 1_500, maxEvents: 3_000, simulatedStart: '2026-04-04T16:29:50.000000+00:00', ...faults });
    const realtime = await startIngestion(testWorker, 'realtime', { sourceUrl: newYork.url });
    const polling = await startIngestion(testWorker, 'polling', { sourceUrl: tokyo.url });

    // Locations moved to other zones and cut-offs, a rewind, a rebuild and a reprocess over what is
    // there, all while both streams are still writing.
    await waitForCheckpoint(warehouse.pool, realtime.workflowId, 1_000);
    const db = warehouseDbOver(warehouse.pool);
    await setLocation(db, { code: 'LOC-ON-003', timeZone: 'America/St_Johns', businessDayStart: '04:00' });
    await setLocation(db, { code: 'LOC-ON-005', timeZone: 'Asia/Kolkata' });
    await waitForCheckpoint(warehouse.pool, realtime.workflowId, 2_000);
    await setLocation(db, { code: 'LOC-ON-005', timeZone: 'Australia/Adelaide', businessDayStart: '03:30' });
    await realtime.executeUpdate(rewindUpdate, { args: [{ offset: 500 }] });
    await rebuildRollups(warehouse.pool);
    const progress = await reprocess(testWorker, { from: { offset: 1 }, stream: realtime.workflowId, chunkEvents: 700, windowSeconds: 2 });
    expect(progress.state).toBe('done');
    expect(progress.totals.applied).toBeGreaterThan(1_000);

    await waitForCheckpoint(warehouse.pool, polling.workflowId, 3_000);
    // The Tokyo source restarts at offset 1 (a legacy source): a new epoch, new events in the same hours.
    const port = tokyo.port;
    await tokyo.close();
    await started({ port, seed: 'rollups-tokyo-2', legacy: true, rate: 1_500, maxEvents: 1_000, simulatedStart: '2026-04-04T16:29:55.000000+00:00', ...faults });
    await expect
      .poll(async () => (await warehouse.pool.query('SELECT source_epoch, event_offset FROM raw_data.stream_checkpoints WHERE stream_name = $1', [polling.workflowId])).rows[0], { timeout: 90_000 })
      .toEqual({ source_epoch: '2', event_offset: '1000' });
    await waitForCheckpoint(warehouse.pool, realtime.workflowId, 5_000);
    await stopAllIngestion();

    const { rows } = await warehouse.pool.query<{ staged: string; paid: string }>(
      'SELECT (SELECT count(*) FROM staging.pending_children) AS staged, (SELECT count(*) FROM analytics.orders WHERE total IS NOT NULL) AS paid',
    );
    expect(rows[0]).toMatchObject({ staged: '0' });
    expect(Number(rows[0]!.paid)).toBeGreaterThan(500);
    await expectViewsMatchFacts(warehouse.pool);
    const consistency = await warehouse.pool.query("SELECT status, issue_count FROM analytics.validate_data_consistency() WHERE check_name = 'rollups_out_of_step'");
    expect(consistency.rows).toEqual([{ status: 'OK', issue_count: '0' }]);
  }, 240_000);

  it('a worker SIGKILLed mid-batch: the retry writes the batch once, facts and rollups alike', async () => {
    const taskQueue = `rollups-killed-${Date.now()}`;
    const workers: ChildProcess[] = [];
    const startWorker = () => {
      workers.push(spawnWorkerProcess({ databaseUrl: warehouse.url, taskQueue }));
    };
    const api = await started({ port: 0, seed: 'rollups-killed', rate: 1_000, maxEvents: 6_000, childrenFirstRate: 0.2, simulatedStart: '2026-03-02T04:59:40.000000+00:00' });
    try {
      startWorker();
      const handle = await testWorker.client.workflow.start('restaurantRealtimeStream', {
        workflowId: taskQueue,
        taskQueue,
        args: [{ sourceUrl: api.url, tuning: { sessionSeconds: 30 } }],
      });
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 1_500, 120_000);
      workers[0]!.kill('SIGKILL');
      const killedAt = await committedOffset(warehouse.pool, handle.workflowId);
      startWorker();
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 6_000, 150_000);
      expect(killedAt).toBeLessThan(6_000);
      await handle.cancel();
      await expectViewsMatchFacts(warehouse.pool);
    } finally {
      for (const worker of workers) worker.kill('SIGKILL');
    }
  }, 300_000);

  it('rollups rebuild on a warehouse filled without rollups gives the same', async () => {
    const kept = await rollupTotals(warehouse.pool);
    expect(kept.length).toBeGreaterThan(0);
    await warehouse.pool.query(
      'TRUNCATE analytics.sales_quarter_hour_rollup, analytics.location_hourly_rollup, analytics.menu_daily_rollup, analytics.menu_monthly_rollup, analytics.feedback_quarter_hour_rollup',
    );
    const report = await rebuildRollups(warehouse.pool);
    expect(report.months).toBeGreaterThan(0);
    expect(report.corrected).toBeGreaterThan(0);
    expect(await rollupTotals(warehouse.pool)).toEqual(kept);
    await expectViewsMatchFacts(warehouse.pool);
    // Idempotent: a second rebuild finds nothing to correct.
    expect((await rebuildRollups(warehouse.pool)).corrected).toBe(0);
    expect(await rollupTotals(warehouse.pool)).toEqual(kept);
  }, 60_000);

  it('reprocess pauses and resumes by signal, its progress in the query', async () => {
    const before = await rollupTotals(warehouse.pool);
    const handle = await testWorker.client.workflow.start(REPROCESS_WORKFLOW_TYPE, {
      workflowId: `reprocess-paused-${Date.now()}`,
      taskQueue: testWorker.taskQueue,
      args: [{ from: { time: '2026-01-01T00:00:00Z' }, chunkEvents: 200, windowSeconds: 2 } satisfies ReprocessInput],
    });
    await handle.signal(pauseSignal, { reason: 'menu review' });
    await expect.poll(async () => (await handle.query(reprocessProgressQuery)).state, { timeout: 30_000 }).toBe('paused');
    const paused = await handle.query(reprocessProgressQuery);
    expect(paused.paused?.reason).toBe('menu review');
    expect((await handle.query(reprocessProgressQuery)).totals.chunks).toBe(paused.totals.chunks);
    await handle.signal(resumeSignal);
    const done = (await handle.result()) as ReprocessProgress;
    expect(done.state).toBe('done');
    expect(done.totals.chunks).toBeGreaterThan(paused.totals.chunks);
    // Re-deriving with the same processors changes nothing.
    expect(await rollupTotals(warehouse.pool)).toEqual(before);
  }, 120_000);

  it('reprocess with a changed processor updates the facts and moves the rollups by the difference', async () => {
    // The menu was renamed and payments were re-priced: processors that upsert instead of skipping.
    const renamedItems = defineProcessor({
      ...orderItemAdded,
      async apply(sql, events) {
        await sql.query(
          `INSERT INTO analytics.order_items (order_item_id, order_id, menu_item_id, category, item_name, unit_price, qty, extended_price, created_at)
           SELECT p.order_item_id, p.order_id, p.menu_item_id, 'renamed ' || p.category, p.item_name, p.unit_price, p.qty, p.extended_price, p.event_ts
           FROM jsonb_to_recordset($1::jsonb) AS p(order_item_id uuid, order_id uuid, menu_item_id uuid, category text, item_name text,
                                                  unit_price numeric, qty int, extended_price numeric, event_ts timestamptz)
           ON CONFLICT (order_item_id) DO UPDATE SET category = EXCLUDED.category`,
          [payloadRecords(events)],
        );
      },
    });
    const repricedPayments = defineProcessor({
      ...paymentCaptured,
      async apply(sql, events) {
        await paymentCaptured.apply(
          sql,
          events.map((event) => ({ ...event, payload: { ...event.payload, tip: event.payload.tip + 1, total: event.payload.total + 1 } })),
        );
      },
    });
    const before = await warehouse.pool.query<{ revenue: string; orders: string }>('SELECT sum(total) AS revenue, count(*) AS orders FROM analytics.orders WHERE total IS NOT NULL');
    const changed = await startTestWorker(warehouse.pool, { label: 'rollups-changed', processors: (await loadProcessors()).with([renamedItems, repricedPayments]) });
    try {
      const progress = await reprocess(changed, { from: { time: '2026-01-01T00:00:00Z' }, chunkEvents: 1_000, windowSeconds: 5 });
      expect(progress.state).toBe('done');
    } finally {
      await changed.stop();
    }
    const after = await warehouse.pool.query<{ revenue: string; orders: string }>('SELECT sum(total) AS revenue, count(*) AS orders FROM analytics.orders WHERE total IS NOT NULL');
    expect(after.rows[0]!.orders).toBe(before.rows[0]!.orders);
    expect(Number(after.rows[0]!.revenue)).toBeCloseTo(Number(before.rows[0]!.revenue) + Number(before.rows[0]!.orders), 2);
    const categories = await warehouse.pool.query<{ category: string }>('SELECT DISTINCT category FROM analytics.menu_performance');
    expect(categories.rows.every((row) => row.category.startsWith('renamed '))).toBe(true);
    await expectViewsMatchFacts(warehouse.pool);
  }, 120_000);
});
