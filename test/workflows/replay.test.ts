import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { WORKFLOW_TYPES } from '../../contracts/ingestion.js';
import { MAINTENANCE_WORKFLOW_TYPE, type MaintenanceInput } from '../../contracts/maintenance.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { loadWorkflowBundle } from '../../worker/workflow-bundle.js';
import { pauseSignal, pollNowSignal, resumeSignal, rewindUpdate, statusQuery } from '../../workflows/messages.js';
import { startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'histories');
/** `sha256  file` per committed history: a history is only ever added, never rewritten or removed. */
const manifestFile = path.join(historiesDir, 'SHA256SUMS');
const TOKEN_VARIABLE = 'REPLAY_SOURCE_TOKEN';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(path.join(historiesDir, file))).digest('hex');

function manifest(): Map<string, string> {
  const lines = existsSync(manifestFile) ? readFileSync(manifestFile, 'utf8').split('\n').filter(Boolean) : [];
  return new Map(lines.map((line) => line.split(/\s+/).reverse() as [string, string]));
}

function committedHistories(): Array<{ file: string; history: { events: Array<Record<string, unknown>> } }> {
  return readdirSync(historiesDir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, history: JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')) as { events: Array<Record<string, unknown>> } }));
}

/**
 * Determinism: histories recorded from real runs must replay against the current workflow code, so a
 * change that would break a running workflow fails here. Each recording covers every run of a chain
 * (continue-as-new included) through pause, resume, rewind, pollNow and a failed session.
 *
 * The committed histories are the record of what earlier code did: they are never re-recorded.
 * `RECORD_HISTORIES=1` adds this run's chains as new files (and their checksums to SHA256SUMS) after a
 * change that needed a `patched()`; see the README, "Changing workflow code".
 */
describe('workflow replay', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi;
  const fresh: Array<{ name: string; history: unknown }> = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('replay');
    testWorker = await startTestWorker(warehouse.pool, { label: 'replay' });
    api = await startEventApi({ port: 0, seed: 'replay', rate: 1_000, maxEvents: 3_000, token: 'replay-token' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
    delete process.env[TOKEN_VARIABLE];
  });

  /** Every run of the chain, oldest first: from the last run back through continuedExecutionRunId. */
  async function record(name: string, handle: WorkflowHandle): Promise<void> {
    await handle.cancel();
    await handle.result();
    const runs: unknown[] = [];
    for (let runId: string | undefined = (await handle.describe()).runId; runId; ) {
      const history = await testWorker.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
      runs.unshift(JSON.parse(historyToJSON(history)));
      runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    expect(runs.length, `${name} crossed continue-as-new`).toBeGreaterThan(1);
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    runs.forEach((history, index) => fresh.push({ name: `${name}-${stamp}-run${index + 1}`, history }));
  }

  /** The first session fails for good (the token variable it names is unset) and pauses the stream; then it runs. */
  async function failFirstThenRun(handle: WorkflowHandle): Promise<void> {
    await expect.poll(async () => (await handle.query(statusQuery)).paused?.reason, { timeout: 20_000 }).toMatch(/credentials/);
    process.env[TOKEN_VARIABLE] = 'replay-token';
    await handle.signal(resumeSignal);
  }

  it('records a realtime chain: a failed session, pause, resume, rewind, continue-as-new, stop', async () => {
    delete process.env[TOKEN_VARIABLE];
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url, sourceCredentials: { tokenEnv: TOKEN_VARIABLE }, tuning: { sessionSeconds: 1 } });
    await failFirstThenRun(handle);
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 500);
    await handle.signal(pauseSignal, { reason: 'replay test' });
    await handle.signal(resumeSignal);
    await handle.executeUpdate(rewindUpdate, { args: [{ offset: 100 }] });
    await expect.poll(async () => (await handle.query(statusQuery)).runs, { timeout: 60_000 }).toBeGreaterThan(1);
    await record('realtime-chain', handle);
  }, 120_000);

  it('records a polling chain: a failed session, pollNow, pause, resume, rewind, continue-as-new, stop', async () => {
    delete process.env[TOKEN_VARIABLE];
    const handle = await startIngestion(testWorker, 'polling', { sourceUrl: api.url, sourceCredentials: { tokenEnv: TOKEN_VARIABLE }, tuning: { pollIntervalSeconds: 30 } });
    await failFirstThenRun(handle);
    await expect.poll(async () => (await handle.query(statusQuery)).state, { timeout: 20_000 }).toBe('waiting for next poll');
    await handle.signal(pollNowSignal);
    await handle.signal(pauseSignal, { reason: 'replay test' });
    await handle.signal(resumeSignal);
    await handle.executeUpdate(rewindUpdate, { args: [{ offset: 100 }] });
    for (let polls = 0; (await handle.query(statusQuery)).runs < 2; polls++) {
      expect(polls, 'polls before continue-as-new').toBeLessThan(100);
      const sessions = (await handle.query(statusQuery)).totals.sessions;
      await handle.signal(pollNowSignal);
      await expect.poll(async () => (await handle.query(statusQuery)).totals.sessions, { timeout: 20_000 }).toBeGreaterThan(sessions);
    }
    await record('polling-chain', handle);
  }, 120_000);

  it('records a maintenance run: every task, one of them failing', async () => {
    // PostgreSQL refuses half a row as a LIMIT: raw retention fails (after its retries), the other tasks still run.
    const input: MaintenanceInput = { retentionDays: 7, retentionChunkRows: 0.5, retentionMaxChunks: 1 };
    const handle = await testWorker.client.workflow.start(MAINTENANCE_WORKFLOW_TYPE, {
      workflowId: `maintenance-replay-${Date.now()}`,
      taskQueue: testWorker.taskQueue,
      args: [input],
    });
    await handle.result();
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
    fresh.push({ name: `maintenance-run-${stamp}`, history: JSON.parse(historyToJSON(await handle.fetchHistory())) });
  }, 120_000);

  it('committed histories are only ever added: each is listed in SHA256SUMS with its checksum', () => {
    const listed = manifest();
    const files = committedHistories().map(({ file }) => file);
    expect(files.filter((file) => !listed.has(file)), 'histories missing from SHA256SUMS').toEqual([]);
    for (const [file, checksum] of listed) {
      expect(existsSync(path.join(historiesDir, file)), `${file} was removed`).toBe(true);
      expect(sha256(file), `${file} was rewritten`).toBe(checksum);
    }
  });

  it('the committed histories of each workflow cover every message, a failed session and continue-as-new', () => {
    const covered = (type: string) => {
      const events = committedHistories()
        .filter(({ history }) => JSON.stringify(history.events[0]).includes(`"name":"${type}"`))
        .flatMap(({ history }) => history.events);
      const json = events.map((event) => JSON.stringify(event));
      return {
        pause: json.some((event) => event.includes('"signalName":"pause"')),
        resume: json.some((event) => event.includes('"signalName":"resume"')),
        rewind: json.some((event) => event.includes('EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED') && event.includes('"name":"rewind"')),
        pollNow: type === WORKFLOW_TYPES.realtime || json.some((event) => event.includes('"signalName":"pollNow"')),
        failedSession: json.some((event) => event.includes('EVENT_TYPE_ACTIVITY_TASK_FAILED')),
        continueAsNew: json.some((event) => event.includes('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW')),
      };
    };
    const everything = { pause: true, resume: true, rewind: true, pollNow: true, failedSession: true, continueAsNew: true };
    expect(covered(WORKFLOW_TYPES.realtime)).toEqual(everything);
    expect(covered(WORKFLOW_TYPES.polling)).toEqual(everything);
  });

  it('replays the fresh and the committed histories without nondeterminism', async () => {
    if (process.env.RECORD_HISTORIES) {
      for (const { name, history } of fresh) {
        const file = `${name}.json`;
        if (existsSync(path.join(historiesDir, file))) throw new Error(`${file} exists: histories are never rewritten`);
        writeFileSync(path.join(historiesDir, file), `${JSON.stringify(history, null, 1)}\n`);
        writeFileSync(manifestFile, `${existsSync(manifestFile) ? readFileSync(manifestFile, 'utf8') : ''}${sha256(file)}  ${file}\n`);
      }
    }
    const committed = committedHistories().map(({ file, history }) => ({ name: `committed ${file}`, history }));
    expect(committed.length).toBeGreaterThanOrEqual(2);
    const workflowBundle = await loadWorkflowBundle(loadConfig().DATA_DIR);
    for (const { name, history } of [...fresh, ...committed]) {
      await expect(Worker.runReplayHistory({ workflowBundle, replayName: name }, history), name).resolves.toBeUndefined();
    }
  });
});
