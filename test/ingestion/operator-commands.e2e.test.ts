import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { statusQuery } from '../../workflows/messages.js';
import type { IngestionStatus } from '../../contracts/ingestion.js';
import { expectNothingCommittedWhile, stopAllIngestion, waitForCheckpoint, waitUntilPaused } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const run = promisify(execFile);

/** The commands the README gives operators, run for real: `restaurant-stack ingest …` and `temporal workflow …`. */
describe('operating ingestion from the command line', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi;
  let env: NodeJS.ProcessEnv;
  const workflowId = `operator-${Date.now()}`;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('operator');
    testWorker = await startTestWorker(warehouse.pool, { label: 'operator' });
    // Enough events that the source is still producing whatever the machine's speed: a pause is proven by
    // the source moving on while nothing more is committed.
    api = await startEventApi({ port: 0, seed: 'operator', rate: 300, maxEvents: 1_000_000 });
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: testWorker.taskQueue,
      REALTIME_WORKFLOW_ID: workflowId,
      POLLING_WORKFLOW_ID: `${workflowId}-polling`,
      RESTAURANT_API_URL: api.url,
      INGEST_SESSION_SECONDS: '2',
    };
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  const stack = (...args: string[]) => run(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), ...args], { env });
  const temporal = (...args: string[]) => run(inject('temporalCli'), [...args, '--address', inject('temporalAddress')], { env });

  it('restaurant-stack ingest: start (idempotent), status, pause, resume, rewind, stop', async () => {
    expect((await stack('ingest', 'status')).stdout).toContain('not started');
    expect((await stack('ingest', 'start')).stdout).toContain(`started ${workflowId}`);
    expect((await stack('ingest', 'start')).stdout).toContain('already running');
    await waitForCheckpoint(warehouse.pool, workflowId, 100);

    const [status] = JSON.parse((await stack('ingest', 'status', '--json')).stdout) as IngestionStatus[];
    expect(status).toMatchObject({ workflowId, mode: 'realtime', sourceUrl: api.url });
    expect((await stack('ingest', 'status')).stdout).toMatch(/offset\s+\d+ \(epoch 1\)/);

    await stack('ingest', 'pause', '--reason', 'stock take');
    await expect.poll(async () => (await stack('ingest', 'status')).stdout, { timeout: 10_000 }).toContain('paused — stock take');
    await waitUntilPaused(testWorker.client.workflow.getHandle(workflowId));
    const paused = await expectNothingCommittedWhile(warehouse.pool, workflowId, api, 300);
    await stack('ingest', 'resume');
    await waitForCheckpoint(warehouse.pool, workflowId, paused + 1);

    expect((await stack('ingest', 'rewind', '--to', '10')).stdout).toMatch(/rewound from offset \d+ \(epoch 1\) to 10 \(epoch 1\)/);
    await expect(stack('ingest', 'rewind', '--to', 'yesterday')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('invalid --to') });

    expect((await stack('ingest', 'stop')).stdout).toMatch(new RegExp(`stopped ${workflowId} at offset \\d+`));
    expect((await stack('ingest', 'status')).stdout).toContain('not started');
  });

  it('the temporal CLI: signal, query and update by name', async () => {
    const { stdout } = await stack('ingest', 'start', '--from', '0');
    expect(stdout).toContain('started');
    await waitForCheckpoint(warehouse.pool, workflowId, 100);
    await temporal('workflow', 'signal', '--workflow-id', workflowId, '--name', 'pause', '--input', '{"reason":"maintenance"}');
    await expect
      .poll(async () => (await temporal('workflow', 'query', '--workflow-id', workflowId, '--name', 'status', '--output', 'json')).stdout, { timeout: 30_000 })
      .toContain('maintenance');
    await temporal('workflow', 'signal', '--workflow-id', workflowId, '--name', 'resume');
    const update = await temporal('workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', 'rewind', '--input', '{"offset": 5}', '--output', 'json');
    expect(update.stdout).toMatch(/"offset":\s*5/);
    const handle = testWorker.client.workflow.getHandle(workflowId);
    await expect.poll(async () => (await handle.query(statusQuery)).paused, { timeout: 10_000 }).toBeNull();
  });
});
