import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { WORKFLOW_TYPES } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { PREBUILT_BUNDLE } from '../../worker/workflow-bundle.js';
import { waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const run = promisify(execFile);

describe('npm run build: compiled JavaScript and a prebuilt workflow bundle', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let client: TestWorker;
  let api: EventApi | undefined;
  let worker: ChildProcess | undefined;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('compiled');
    client = await startTestWorker(warehouse.pool, { label: 'compiled-client' });
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await api?.close();
    await client?.stop();
    await warehouse?.close();
  });

  it('builds, and the compiled worker ingests without tsx and without bundling at start-up', async () => {
    await run('npm', ['run', 'build'], { cwd: projectRoot, timeout: 180_000 });
    expect(existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(PREBUILT_BUNDLE)).toBe(true);

    const help = await run(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), '--help'], { env: { ...process.env, RESTAURANT_STACK_COMPILED: '1' } });
    expect(help.stdout).toContain('Usage: restaurant-stack');

    api = await startEventApi({ port: 0, seed: 'compiled', rate: 2_000, maxEvents: 2_000 });
    const taskQueue = `compiled-${Date.now()}`;
    let output = '';
    worker = spawn(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'worker'], {
      env: {
        ...process.env,
        RESTAURANT_STACK_COMPILED: '1',
        DATABASE_URL: warehouse.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: taskQueue,
        LOG_LEVEL: 'info',
        METRICS_PORT: '0',
      },
    });
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const handle = await client.client.workflow.start(WORKFLOW_TYPES.realtime, { workflowId: taskQueue, taskQueue, args: [{ sourceUrl: api.url }] });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 2_000, 120_000);
    await handle.cancel();
    expect(output).toContain('worker polling');
    expect(output).not.toContain('bundling workflow code');
    expect(output).not.toMatch(/tsx/);
  });
});
