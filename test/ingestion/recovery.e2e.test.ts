import { type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { pauseSignal, resumeSignal, rewindUpdate, statusQuery } from '../../workflows/messages.js';
import { spawnWorkerProcess } from '../support/worker-process.js';
import { groundTruth } from '../support/ground-truth.js';
import { committedOffset, expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';
import { expectKilledWorkersSessionMoved } from '../support/worker-faults.js';

describe('recovery: killed workers, rewinds, and signal storms', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const apis: EventApi[] = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('recovery');
    testWorker = await startTestWorker(warehouse.pool, { label: 'recovery' });
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

  async function started(options: Parameters<typeof startEventApi>[0]): Promise<EventApi> {
    const api = await startEventApi(options);
    apis.push(api);
    return api;
  }

  /** `restaurant-stack worker` as its own process, on a task queue of its own. */
  function spawnWorker(taskQueue: string): ChildProcess {
    return spawnWorkerProcess({ databaseUrl: warehouse.url, taskQueue });
  }

  it('a worker killed with SIGKILL mid-stream: its replacement loses nothing and doubles nothing', async () => {
    const api = await started({ port: 0, seed: 'sigkill', rate: 1_500, maxEvents: 6_000 });
    const taskQueue = `sigkill-${Date.now()}`;
    let worker = spawnWorker(taskQueue);
    const handle = await testWorker.client.workflow.start('restaurantRealtimeStream', {
      workflowId: taskQueue,
      taskQueue,
      args: [{ sourceUrl: api.url, tuning: { sessionSeconds: 30, maxBatchWaitMs: 20 } }],
    });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 1_000);
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    const atKill = await committedOffset(warehouse.pool, handle.workflowId);
    expect(atKill).toBeLessThan(6_000);

    worker = spawnWorker(taskQueue);
    try {
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 6_000, 120_000);
      await expectWarehouseMatches(warehouse.pool, groundTruth(api));
      await handle.cancel();
    } finally {
      worker.kill('SIGTERM');
    }
  });

  it('a killed worker’s session is failed at once by a surviving worker, without waiting for the heartbeat timeout', async () => {
    await expectKilledWorkersSessionMoved({ pool: warehouse.pool, client: testWorker.client, workerDatabaseUrl: warehouse.url }, 'direct');
  });

  it('rewind re-ingests from an earlier offset without duplicating anything', async () => {
    const api = await started({ port: 0, seed: 'rewind', rate: 3_000, maxEvents: 2_000 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    await warehouse.pool.query('DELETE FROM analytics.feedback');

    // Lost rows downstream (here: feedback deleted by mistake) come back by re-ingesting.
    const result = await handle.executeUpdate(rewindUpdate, { args: [{ offset: 0 }] });
    expect(result.previous.offset).toBe(2_000);
    expect(result.position).toMatchObject({ offset: 0, epoch: 1 });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));

    await expect(handle.executeUpdate(rewindUpdate, { args: [{ offset: -3 }] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/offset must be a whole number ≥ 0, got -3/) },
    });
    await handle.cancel();
  });

  it('a storm of pause and resume signals ends consistent and resumed', async () => {
    const api = await started({ port: 0, seed: 'storm', rate: 2_000, maxEvents: 4_000 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 200);
    for (let i = 0; i < 25; i++) {
      await handle.signal(pauseSignal, { reason: `storm ${i}` });
      await handle.signal(resumeSignal);
    }
    await handle.signal(pauseSignal);
    await handle.signal(resumeSignal);
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 4_000);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
    const status = await handle.query(statusQuery);
    expect(status.paused).toBeNull();
    await handle.cancel();
  });
});
