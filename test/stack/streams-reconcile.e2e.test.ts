import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseIngestion, stopIngestion } from '../../clients/ingestion-control.js';
import { loadConfig, type StackConfig } from '../../config/env.js';
import { tuningFrom, type StreamSpec } from '../../config/streams.js';
import { DEFAULT_STREAM } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { readCheckpoint } from '../../warehouse/checkpoints.js';
import { reconcileStreams } from '../../stack/streams-reconcile.js';
import { warehouseDbOver } from '../../warehouse/connect.js';
import { statusQuery } from '../../workflows/messages.js';
import { waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/**
 * What `up` says about the ingestion it finds: a workflow reading another source than configured (a
 * second start with another RESTAURANT_API_URL), in another mode or with other tuning, and a paused one.
 */
describe('up reconciles the configured streams with the running workflows', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let config: StackConfig;
  let oldSource: EventApi;
  let newSource: EventApi;
  const lines: string[] = [];
  const sink = (line: string) => void lines.push(line);

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('reconcile');
    testWorker = await startTestWorker(warehouse.pool, { label: 'reconcile' });
    config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: testWorker.taskQueue, INGEST_SESSION_SECONDS: 2 };
    oldSource = await startEventApi({ port: 0, seed: 'old-source', rate: 500, maxEvents: 1_000 });
    newSource = await startEventApi({ port: 0, seed: 'new-source', rate: 500, maxEvents: 1_000 });
  });
  afterAll(async () => {
    await stopIngestion(testWorker.client, config, { all: true }).catch(() => undefined);
    await oldSource?.close();
    await newSource?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  const thisWarehouse = (stream: string) => readCheckpoint(warehouseDbOver(warehouse.pool), stream);
  const single = (sourceUrl: string, overrides: Partial<StreamSpec> = {}): StreamSpec => ({ name: DEFAULT_STREAM, sourceUrl, mode: 'realtime', tuning: tuningFrom(config), ...overrides });

  it('starts, keeps, and reports a stale source, mode, tuning and a pause with the command that switches', async () => {
    await reconcileStreams(testWorker.client, config, [single(oldSource.url)], sink);
    expect(lines.at(-1)).toBe(`started ingestion workflow restaurant_realtime_stream: stream ${DEFAULT_STREAM} (realtime) from ${oldSource.url}`);
    await waitForCheckpoint(warehouse.pool, DEFAULT_STREAM, 200);

    lines.length = 0;
    await reconcileStreams(testWorker.client, config, [single(oldSource.url)], sink, thisWarehouse);
    expect(lines.at(-1)).toMatch(/already running: stream restaurant_realtime_stream \(realtime\) from .*, as configured$/);

    // Started again with another warehouse: its checkpoint is behind the workflow's position.
    const handle = testWorker.client.workflow.getHandle('restaurant_realtime_stream');
    await expect.poll(async () => (await handle.query(statusQuery)).position.offset, { timeout: 20_000 }).toBeGreaterThan(0);
    lines.length = 0;
    await reconcileStreams(testWorker.client, config, [single(oldSource.url)], sink, async () => null);
    expect(lines).toEqual([
      expect.stringMatching(
        /^stream restaurant_realtime_stream: workflow restaurant_realtime_stream is at offset \d+ but this warehouse's checkpoint is at 0 \(it wrote to another warehouse\); switch with: npx restaurant-stack ingest restart$/,
      ),
    ]);

    lines.length = 0;
    await reconcileStreams(testWorker.client, config, [single(newSource.url)], sink);
    expect(lines.filter((line) => !line.includes('search attribute'))).toEqual([
      `stream restaurant_realtime_stream: workflow restaurant_realtime_stream reads ${oldSource.url} but ${newSource.url} is configured; switch with: npx restaurant-stack ingest restart --source ${newSource.url}`,
    ]);

    lines.length = 0;
    const otherTuning = { ...tuningFrom(config), maxBatchEvents: 500 };
    await reconcileStreams(testWorker.client, config, [single(oldSource.url, { mode: 'polling', tuning: otherTuning })], sink);
    expect(lines).toEqual([
      'stream restaurant_realtime_stream: workflow restaurant_realtime_stream runs in realtime mode but polling is configured; runs with maxBatchEvents 2000 but maxBatchEvents 500 is configured; switch with: npx restaurant-stack ingest restart --mode polling',
    ]);

    lines.length = 0;
    await pauseIngestion(testWorker.client, config, 'menu migration', {});
    await reconcileStreams(testWorker.client, config, [single(oldSource.url)], sink);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^stream restaurant_realtime_stream: workflow restaurant_realtime_stream is paused since \S+ \(menu migration\); resume with: npx restaurant-stack ingest resume$/);

    lines.length = 0;
    await reconcileStreams(testWorker.client, config, [], sink);
    expect(lines).toEqual([`also running, not in the configuration: stream ${DEFAULT_STREAM} (restaurant_realtime_stream); stop it with: npx restaurant-stack ingest stop --stream ${DEFAULT_STREAM}`]);
  });
});
