import os from 'node:os';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { loadProcessors } from '../../processors/registry.js';
import { createLogger } from '../../telemetry/logger.js';
import { installTemporalRuntime } from '../../worker/telemetry.js';
import { PATCHES } from '../../workflows/stream-ingestion.js';
import { pauseSignal, resumeSignal, rewindUpdate, statusQuery } from '../../workflows/messages.js';
import { groundTruth } from '../support/ground-truth.js';
import { expectWarehouseMatches, FAST_TUNING, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { BEFORE_PATCHES, workflowBundleAt } from '../support/workflow-versions.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/**
 * A deployment in the middle of a stream: a workflow started by workers running the code from before
 * the patches keeps running when those workers are replaced by ones running the current code. The
 * new workers replay its history down the old paths and take the patched ones from there on.
 */
describe('deploying workflow code while a stream runs', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let api: EventApi;
  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('versioning');
    api = await startEventApi({ port: 0, seed: 'versioning', rate: 1_000, maxEvents: 4_000 });
  });
  afterAll(async () => {
    await api?.close();
    await warehouse?.close();
  });

  it('a workflow started on the old code keeps running after a patched change', async () => {
    installTemporalRuntime(createLogger('test-worker', 'warn'), 'warn');
    const taskQueue = `versioning-${Date.now()}`;
    const connection = await NativeConnection.connect({ address: inject('temporalAddress') });
    const stopping = new AbortController();
    const oldWorker = await Worker.create({
      connection,
      taskQueue,
      workflowBundle: await workflowBundleAt(BEFORE_PATCHES),
      activities: createActivities({ db: warehouse.pool, processors: await loadProcessors(), logger: createLogger('old-worker', 'error'), workerIdentity: `${os.hostname()}:old`, stopping: stopping.signal }),
      maxHeartbeatThrottleInterval: '250 milliseconds',
    });
    const oldRunning = oldWorker.run();
    const client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });
    let current: TestWorker | undefined;
    try {
      const handle = await client.workflow.start('restaurantRealtimeStream', { workflowId: taskQueue, taskQueue, args: [{ sourceUrl: api.url, tuning: FAST_TUNING }] });
      await waitForCheckpoint(warehouse.pool, taskQueue, 500);
      await handle.signal(pauseSignal, { reason: 'deploying' });
      await expect.poll(async () => (await handle.query(statusQuery)).state, { timeout: 20_000 }).toBe('paused');
      const runAtUpgrade = (await handle.describe()).runId;

      // The deployment: old workers drain and stop; workers with the current code take over.
      stopping.abort();
      oldWorker.shutdown();
      await oldRunning;
      current = await startTestWorker(warehouse.pool, { label: 'current', taskQueue });
      await handle.signal(resumeSignal);
      const rewound = await handle.executeUpdate(rewindUpdate, { args: [{ offset: 100 }] });
      expect(rewound.position.offset).toBe(100);
      await waitForCheckpoint(warehouse.pool, taskQueue, 4_000);
      await expectWarehouseMatches(warehouse.pool, groundTruth(api));

      type HistoryEvents = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>;
      const histories: Array<{ run: string; events: HistoryEvents }> = [];
      for (let run: string | undefined = (await handle.describe()).runId; run; ) {
        const events: HistoryEvents = (await client.workflow.getHandle(taskQueue, run).fetchHistory()).events ?? [];
        histories.push({ run, events });
        run = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      for (const { events } of histories) expect(events.filter((event) => event.workflowTaskFailedEventAttributes), 'no workflow task failed (no nondeterminism)').toEqual([]);
      const upgraded = histories.find(({ run }) => run === runAtUpgrade)!;
      expect(upgraded.events.some((event) => event.workflowExecutionSignaledEventAttributes?.signalName === 'resume'), 'the run started on the old code went on after the upgrade').toBe(true);
      const patchMarkers = histories.flatMap(({ events }) => events.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch'));
      expect(patchMarkers.length, `the current code took its patched paths (${Object.values(PATCHES).join(', ')})`).toBeGreaterThan(0);
      await handle.cancel();
    } finally {
      await current?.stop();
      await client.connection.close();
      await connection.close();
    }
  }, 180_000);
});
