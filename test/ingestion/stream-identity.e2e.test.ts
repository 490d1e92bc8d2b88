import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureStreamRunning, ingestionStatuses, restartStream, stopIngestion } from '../../clients/ingestion-control.js';
import { loadConfig, type StackConfig } from '../../config/env.js';
import { DEFAULT_STREAM, DEFAULT_TUNING, STREAM_SEARCH_ATTRIBUTE, WORKFLOW_TYPES } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { waitUntil } from '../../stack/wait.js';
import { statusQuery } from '../../workflows/messages.js';
import { groundTruth } from '../support/ground-truth.js';
import { committedOffset, expectWarehouseMatches, FAST_TUNING, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** A stream is its source: one checkpoint whatever the mode, one reader at a time, a checked input. */
describe('stream identity', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let config: StackConfig;
  const apis: EventApi[] = [];
  const tuning = { ...DEFAULT_TUNING, ...FAST_TUNING };

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('stream_identity');
    testWorker = await startTestWorker(warehouse.pool, { label: 'identity' });
    config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: testWorker.taskQueue };
  });
  afterAll(async () => {
    await stopAllIngestion();
    await stopIngestion(testWorker.client, config, { all: true }).catch(() => undefined);
    await Promise.all(apis.map((api) => api.close()));
    await testWorker?.stop();
    await warehouse?.close();
  });

  async function started(options: Parameters<typeof startEventApi>[0]): Promise<EventApi> {
    const api = await startEventApi(options);
    apis.push(api);
    return api;
  }

  it('a wrong input typed into the Web UI fails the workflow at once, naming the field', async () => {
    const handle = await testWorker.client.workflow.start(WORKFLOW_TYPES.polling, {
      workflowId: `web-ui-typo-${Date.now()}`,
      taskQueue: testWorker.taskQueue,
      args: [{ source: 'oops' } as never],
    });
    const failure = await handle.result().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const message = (failure as WorkflowFailedError).cause?.message ?? '';
    expect(message).toMatch(/^invalid workflow input: /);
    expect(message).toMatch(/sourceUrl: /);
    expect(message).toMatch(/"source"/);
    // Failed by the workflow itself: no activity ran, nothing was retried.
    const history = await handle.fetchHistory();
    expect(history.events?.some((event) => event.activityTaskScheduledEventAttributes)).toBe(false);
  });

  it('switching the single feed from realtime to polling continues from its checkpoint; a second reader is refused', async () => {
    const api = await started({ port: 0, seed: 'mode-switch', rate: 2_000, maxEvents: 3_000 });
    const realtime = await ensureStreamRunning(testWorker.client, config, { stream: DEFAULT_STREAM, mode: 'realtime', sourceUrl: api.url, tuning });
    expect(realtime).toMatchObject({ created: true, workflowId: 'restaurant_realtime_stream' });
    await waitForCheckpoint(warehouse.pool, DEFAULT_STREAM, 1_000);

    // The polling workflow started from the Web UI (its old DAG id, no stream named) reads the same stream: refused while realtime runs.
    const intruder = await testWorker.client.workflow.start(WORKFLOW_TYPES.polling, {
      workflowId: 'restaurant_stream_ingest_polling',
      taskQueue: testWorker.taskQueue,
      args: [{ sourceUrl: api.url }],
    });
    const refusal = await intruder.result().catch((error: unknown) => error);
    expect((refusal as WorkflowFailedError).cause?.message).toMatch(/stream restaurant_realtime_stream is already read by the running workflow restaurant_realtime_stream/);

    // `ingest start --mode polling` on a stream read in realtime mode starts nothing.
    const again = await ensureStreamRunning(testWorker.client, config, { stream: DEFAULT_STREAM, mode: 'polling', sourceUrl: api.url, tuning });
    expect(again).toMatchObject({ created: false, workflowId: 'restaurant_realtime_stream' });

    // `ingest restart --mode polling`: the polling workflow continues from the realtime one's checkpoint.
    const { stopped, workflowId } = await restartStream(testWorker.client, config, { stream: DEFAULT_STREAM, mode: 'polling', sourceUrl: api.url, tuning });
    expect(workflowId).toBe('restaurant_stream_ingest_polling');
    expect(stopped.position.offset).toBeGreaterThanOrEqual(1_000);
    await waitForCheckpoint(warehouse.pool, DEFAULT_STREAM, 3_000);
    const [polling] = await ingestionStatuses(testWorker.client, config, { stream: DEFAULT_STREAM });
    expect(polling).toMatchObject({ mode: 'polling', stream: DEFAULT_STREAM, totals: { eventsLostAtSource: 0 } });
    expect(polling!.unanswered === undefined && polling!.totals.events).toBe(3_000 - stopped.position.offset);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
    const { rows } = await warehouse.pool.query('SELECT consumer_workflow_id, consumer_mode FROM raw_data.stream_checkpoints WHERE stream_name = $1', [DEFAULT_STREAM]);
    expect(rows).toEqual([{ consumer_workflow_id: 'restaurant_stream_ingest_polling', consumer_mode: 'polling' }]);
    await stopIngestion(testWorker.client, config, { stream: DEFAULT_STREAM });
  });

  it('a named stream has one workflow id whatever its mode, and the RestaurantStream search attribute finds it', async () => {
    const api = await started({ port: 0, seed: 'named-stream', rate: 2_000, maxEvents: 500 });
    // The workers must have the variable a stream names (this test's worker runs in this process); the
    // source here asks for no token, so any value does.
    process.env.BRAND_A_API_TOKEN = 'brand-a-token';
    const outcome = await ensureStreamRunning(testWorker.client, config, { stream: 'brand_a', mode: 'polling', sourceUrl: api.url, tuning, tokenEnv: 'BRAND_A_API_TOKEN' });
    expect(outcome).toMatchObject({ created: true, workflowId: 'restaurant_stream:brand_a' });
    const handle = testWorker.client.workflow.getHandle('restaurant_stream:brand_a');
    // The token's variable travels by name only: that is all the workflow's history holds.
    const startEvent = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = JSON.parse(Buffer.from(startEvent!.input!.payloads![0]!.data!).toString('utf8')) as Record<string, unknown>;
    expect(input).toMatchObject({ stream: 'brand_a', sourceCredentials: { tokenEnv: 'BRAND_A_API_TOKEN' } });
    await waitUntil('brand_a commits 500', 60_000, async () => (await committedOffset(warehouse.pool, 'brand_a')) >= 500);
    expect(await handle.query(statusQuery)).toMatchObject({ stream: 'brand_a', mode: 'polling' });
    await expect
      .poll(async () => {
        const found: string[] = [];
        for await (const execution of testWorker.client.workflow.list({ query: `${STREAM_SEARCH_ATTRIBUTE} = 'brand_a' AND ExecutionStatus = 'Running'` })) found.push(execution.workflowId);
        return found;
      }, { timeout: 15_000 })
      .toEqual(['restaurant_stream:brand_a']);
    await stopIngestion(testWorker.client, config, { stream: 'brand_a' });
    delete process.env.BRAND_A_API_TOKEN;
  });

  it('a workflow started without a stream name still reads the stream of its own id', async () => {
    const api = await started({ port: 0, seed: 'own-id', rate: 2_000, maxEvents: 300 });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 300);
    expect((await handle.query(statusQuery)).stream).toBe(handle.workflowId);
  });
});
