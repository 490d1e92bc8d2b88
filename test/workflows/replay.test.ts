import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { loadWorkflowBundle } from '../../worker/workflow-bundle.js';
import { pauseSignal, pollNowSignal, resumeSignal, rewindUpdate, statusQuery } from '../../workflows/messages.js';
import { startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'histories');

/**
 * Determinism: histories recorded from real runs (every message, cancellation, continue-as-new) must
 * replay against the current workflow code. The committed histories catch a change that would break
 * running workflows; `RECORD_HISTORIES=1` rewrites them after an intended, versioned change.
 */
describe('workflow replay', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi;
  const fresh: Array<{ name: string; history: unknown }> = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('replay');
    testWorker = await startTestWorker(warehouse.pool, { label: 'replay' });
    api = await startEventApi({ port: 0, seed: 'replay', rate: 1_000, maxEvents: 3_000 });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  async function record(name: string, handle: WorkflowHandle): Promise<void> {
    await handle.cancel();
    await handle.result();
    const history = JSON.parse(historyToJSON(await handle.fetchHistory())) as unknown;
    fresh.push({ name, history });
    if (process.env.RECORD_HISTORIES) {
      mkdirSync(historiesDir, { recursive: true });
      writeFileSync(path.join(historiesDir, `${name}.json`), `${JSON.stringify(history, null, 1)}\n`);
    }
  }

  it('records a realtime run through pause, resume, rewind and stop', async () => {
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url, tuning: { sessionSeconds: 1 } });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 500);
    await handle.signal(pauseSignal, { reason: 'replay test' });
    await handle.signal(resumeSignal);
    await handle.executeUpdate(rewindUpdate, { args: [{ offset: 100 }] });
    await expect.poll(async () => (await handle.query(statusQuery)).totals.sessions, { timeout: 20_000 }).toBeGreaterThan(2);
    await record('realtime-pause-resume-rewind', handle);
  });

  it('records a polling run with an early poll', async () => {
    const handle = await startIngestion(testWorker, 'polling', { sourceUrl: api.url, tuning: { pollIntervalSeconds: 30 } });
    await expect.poll(async () => (await handle.query(statusQuery)).state, { timeout: 20_000 }).toBe('waiting for next poll');
    await handle.signal(pollNowSignal);
    await expect.poll(async () => (await handle.query(statusQuery)).totals.sessions, { timeout: 20_000 }).toBeGreaterThan(1);
    await record('polling-poll-now', handle);
  });

  it('replays the fresh and the committed histories without nondeterminism', async () => {
    const committed = existsSync(historiesDir)
      ? readdirSync(historiesDir)
          .filter((file) => file.endsWith('.json'))
          .map((file) => ({ name: `committed ${file}`, history: JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')) as unknown }))
      : [];
    expect(committed.length).toBeGreaterThanOrEqual(2);
    const workflowBundle = await loadWorkflowBundle(loadConfig().DATA_DIR);
    for (const { name, history } of [...fresh, ...committed]) {
      await expect(Worker.runReplayHistory({ workflowBundle, replayName: name }, history), name).resolves.toBeUndefined();
    }
  });
});
