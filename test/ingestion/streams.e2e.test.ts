import { execFile, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureStreamRunning, ingestionStatuses, pauseIngestion, resumeIngestion, stopIngestion } from '../../clients/ingestion-control.js';
import { loadConfig, projectRoot, type StackConfig } from '../../config/env.js';
import { DEFAULT_TUNING } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { waitUntil } from '../../stack/wait.js';
import { spawnWorkerProcess } from '../support/worker-process.js';
import { groundTruth } from '../support/ground-truth.js';
import { committedOffset } from '../support/ingestion.js';
import { expectStreamMatches } from '../support/stream-facts.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');
const run = promisify(execFile);

const EVENTS_PER_STREAM = 16_000;
const FEEDS = [
  { name: 'brand_a', seed: 'brand-a' },
  { name: 'brand_b', seed: 'brand-b' },
  { name: 'region_north', seed: 'region-north' },
  { name: 'pos_legacy', seed: 'pos-legacy', legacy: true },
] as const;

/**
 * A restaurant group's four feeds (four event sources with their own seeds, one speaking the old
 * source's legacy protocol) ingested side by side by two `restaurant-stack worker` processes on one
 * task queue: one worker SIGKILLed mid-stream, one stream paused alone, then all of them with --all.
 */
describe('several streams on several workers', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let client: Client;
  const apis = new Map<string, EventApi>();
  const workers: ChildProcess[] = [];
  const taskQueue = `streams-${process.pid}`;
  let config: StackConfig;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('streams');
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    client = new Client({ connection, namespace: 'default' });
    config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: taskQueue };
    cliEnv = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: taskQueue, STREAMS_FILE: '' };
    for (const feed of FEEDS) {
      // Paused until the streams start, so every phase below finds the sources still producing.
      apis.set(feed.name, await startEventApi({ port: 0, seed: feed.seed, rate: 200, maxEvents: EVENTS_PER_STREAM, legacy: 'legacy' in feed, paused: true }));
    }
  });
  afterAll(async () => {
    await stopIngestion(client, config, { all: true }).catch(() => undefined);
    for (const worker of workers) worker.kill('SIGKILL');
    await Promise.all([...apis.values()].map((api) => api.close()));
    await client?.connection.close();
    await warehouse?.close();
  });

  function spawnWorker(): ChildProcess {
    const worker = spawnWorkerProcess({ databaseUrl: warehouse.url, taskQueue, env: { WORKER_MAX_SESSIONS: '4' } });
    workers.push(worker);
    return worker;
  }

  /** Per stream, the worker (`host:pid`) that committed its newest event. */
  async function latestWriters(): Promise<Record<string, string>> {
    const { rows } = await warehouse.pool.query<{ stream_name: string; ingested_by: string }>(
      `SELECT DISTINCT ON (r.stream_name) r.stream_name, r.ingested_by FROM raw_data.events_raw r
       JOIN raw_data.stream_checkpoints c ON c.stream_name = r.stream_name AND c.source_epoch = r.source_epoch
       ORDER BY r.stream_name, r.event_offset DESC`,
    );
    return Object.fromEntries(rows.map((row) => [row.stream_name, row.ingested_by]));
  }
  const countOf = (writers: Record<string, string>, worker: ChildProcess) => Object.values(writers).filter((by) => by.endsWith(`:${worker.pid}`)).length;

  const offsets = async () => Object.fromEntries(await Promise.all(FEEDS.map(async ({ name }) => [name, await committedOffset(warehouse.pool, name)] as const)));

  async function waitAllBeyond(floor: Record<string, number>, by: number, label: string, timeoutMs = 60_000): Promise<Record<string, number>> {
    await waitUntil(label, timeoutMs, async () => {
      const now = await offsets();
      return Object.entries(floor).every(([name, offset]) => now[name]! >= Math.min(offset + by, EVENTS_PER_STREAM));
    });
    return offsets();
  }

  it('every stream lands exactly once through a SIGKILLed worker, a paused stream stops alone, and --all reaches every stream', async () => {
    spawnWorker();
    spawnWorker();
    for (const feed of FEEDS) {
      const started = await ensureStreamRunning(client, config, {
        stream: feed.name,
        mode: 'realtime',
        sourceUrl: apis.get(feed.name)!.url,
        tuning: { ...DEFAULT_TUNING, sessionSeconds: 30, maxBatchWaitMs: 20 },
      });
      expect(started).toMatchObject({ created: true, workflowId: `restaurant_stream:${feed.name}` });
    }
    for (const api of apis.values()) api.resume();
    const zero = Object.fromEntries(FEEDS.map(({ name }) => [name, 0]));
    await waitAllBeyond(zero, 1_000, 'every stream commits 1,000 events');

    // Pausing one stream stops it alone: once its session has ended (the in-flight batch written or
    // dropped), its checkpoint stays while the others move on.
    await pauseIngestion(client, config, 'menu migration at brand_b', { stream: 'brand_b' });
    const pausedWorkflow = client.workflow.getHandle('restaurant_stream:brand_b');
    await waitUntil('brand_b has no session in flight', 30_000, async () => ((await pausedWorkflow.describe()).raw.pendingActivities ?? []).length === 0);
    const settled = await offsets();
    const { brand_b: _paused, ...others } = settled;
    await waitAllBeyond(others, 400, 'the other streams move on while brand_b is paused');
    const paused = await offsets();
    expect(paused.brand_b).toBe(settled.brand_b);
    expect(paused.brand_b).toBeLessThan(EVENTS_PER_STREAM);
    const statuses = await ingestionStatuses(client, config, { all: true });
    expect(statuses.map((status) => [status.stream, status.state])).toEqual([
      ['brand_a', 'consuming'],
      ['brand_b', 'paused'],
      ['pos_legacy', 'consuming'],
      ['region_north', 'consuming'],
    ]);

    // One table lists every stream, from the CLI as from the control functions.
    const table = (await run(process.execPath, [cli, 'ingest', 'status'], { env: cliEnv })).stdout;
    for (const feed of FEEDS) expect(table).toMatch(new RegExp(`^${feed.name}\\s+realtime\\s+${feed.name === 'brand_b' ? 'paused' : 'consuming'}`, 'm'));

    await resumeIngestion(client, config, 'menu migration done', { stream: 'brand_b' });

    // Kill the worker that holds the most sessions: the one whose pid wrote each stream's latest batch.
    const writers = await latestWriters();
    const victim = workers.reduce((most, worker) => (countOf(writers, worker) > countOf(writers, most) ? worker : most));
    const beforeKill = await offsets();
    const orphaned = Object.keys(writers).filter((stream) => writers[stream]!.endsWith(`:${victim.pid}`) && beforeKill[stream]! < EVENTS_PER_STREAM - 2_000);
    expect(orphaned.length).toBeGreaterThan(0);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    const atKill = await offsets();
    await waitUntil('the killed worker\'s streams commit again on the other worker', 60_000, async () => {
      const now = await latestWriters();
      return orphaned.every((stream) => !now[stream]!.endsWith(`:${victim.pid}`));
    });
    const failoverSeconds = (Date.now() - killedAt) / 1000;
    await waitAllBeyond(atKill, 500, 'every stream moves on after the SIGKILL');
    console.log(`[streams] SIGKILL of a worker holding ${orphaned.length} of 4 sessions: they committed again on the other worker after ${failoverSeconds.toFixed(1)} s`);
    // Heartbeat timeout (5 s) + first retry (1 s), with room for a loaded machine.
    expect(failoverSeconds).toBeLessThan(20);

    // --all from the CLI: every stream pauses, then every stream resumes.
    await run(process.execPath, [cli, 'ingest', 'pause', '--all', '--reason', 'month end'], { env: cliEnv });
    await expect.poll(async () => (await ingestionStatuses(client, config, { all: true })).map((status) => status.state), { timeout: 15_000 }).toEqual(FEEDS.map(() => 'paused'));
    await run(process.execPath, [cli, 'ingest', 'resume', '--all'], { env: cliEnv });
    expect((await resumeIngestion(client, config, 'idempotent', { all: true })).length).toBe(4);

    const done = Object.fromEntries(FEEDS.map(({ name }) => [name, EVENTS_PER_STREAM]));
    await waitAllBeyond(done, 0, 'every stream ingests its whole source', 180_000);
    for (const feed of FEEDS) await expectStreamMatches(warehouse.pool, feed.name, groundTruth(apis.get(feed.name)!));

    // Both workers ingested (the survivor took over the killed one's sessions).
    const { rows } = await warehouse.pool.query<{ by: string }>('SELECT DISTINCT ingested_by AS by FROM raw_data.events_raw');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const perStream = await warehouse.pool.query<{ stream_name: string; events_total: string }>('SELECT stream_name, events_total FROM raw_data.stream_checkpoints ORDER BY 1');
    expect(perStream.rows.map((row) => row.stream_name)).toEqual(FEEDS.map((feed) => feed.name).sort());
    const { rows: status } = await warehouse.pool.query<{ stream_name: string }>('SELECT stream_name FROM analytics.ingestion_status ORDER BY 1');
    expect(status.map((row) => row.stream_name)).toEqual(FEEDS.map((feed) => feed.name).sort());
  }, 300_000);
});
