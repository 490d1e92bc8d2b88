import { execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureStreamRunning } from '../../clients/ingestion-control.js';
import { loadConfig, projectRoot, type StackConfig } from '../../config/env.js';
import { DEFAULT_TUNING, type StreamStatus } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { findFreePort } from '../../stack/ports.js';
import { waitUntil } from '../../stack/wait.js';
import { committedOffset } from '../support/ingestion.js';
import { parsePrometheus } from '../support/prometheus.js';
import { createMigratedWarehouse } from '../support/warehouse.js';
import { spawnWorkerProcess } from '../support/worker-process.js';

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');
const STREAM = 'status_quiet';

interface ReadingRow {
  seconds_since_last_read: string | null;
  seconds_since_last_commit: string | null;
  last_read_at: Date | null;
  waiting_since: Date | null;
}

/**
 * `ingest status`, analytics.ingestion_status and the workers' gauges tell the state of a stream at
 * the time asked: a quiet feed read by a worker shows a read and a commit a moment ago; once its only
 * worker is gone it shows since when it has waited for one, from all three, while the last figures
 * its last session reported say nothing of it; a worker back reads it again.
 */
describe('a stream status that tells the truth', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let client: Client;
  let api: EventApi;
  let config: StackConfig;
  let cliEnv: NodeJS.ProcessEnv;
  let gaugePort: number;
  const taskQueue = `stream-status-${process.pid}`;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('stream-status');
    client = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }), namespace: 'default' });
    config = { ...loadConfig(), TEMPORAL_TASK_QUEUE: taskQueue };
    cliEnv = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_TASK_QUEUE: taskQueue, STREAMS_FILE: '' };
    api = await startEventApi({ port: 0, seed: 'stream-status', rate: 10, maxEvents: 1_000_000 });
    // A worker on another task queue runs none of this stream's sessions: its gauges still show the stream.
    gaugePort = await findFreePort();
    spawnWorker(`${taskQueue}-elsewhere`, gaugePort);
  });
  afterAll(async () => {
    await client?.workflow
      .getHandle(`restaurant_stream:${STREAM}`)
      .terminate('test over')
      .catch(() => undefined);
    for (const worker of workers) worker.kill('SIGKILL');
    await api?.close();
    await client?.connection.close();
    await warehouse?.close();
  });

  function spawnWorker(queue: string, metricsPort?: number): ChildProcess {
    const worker = spawnWorkerProcess({ databaseUrl: warehouse.url, taskQueue: queue, env: metricsPort ? { METRICS_PORT: String(metricsPort) } : {} });
    workers.push(worker);
    return worker;
  }

  async function cliStatus(): Promise<StreamStatus> {
    const [status] = JSON.parse((await run(process.execPath, [cli, 'ingest', 'status', '--json', '--stream', STREAM], { env: cliEnv })).stdout) as StreamStatus[];
    return status!;
  }

  async function viewRow(): Promise<ReadingRow> {
    const { rows } = await warehouse.pool.query<ReadingRow>(
      'SELECT seconds_since_last_read, seconds_since_last_commit, last_read_at, waiting_since FROM analytics.ingestion_status WHERE stream_name = $1',
      [STREAM],
    );
    return rows[0]!;
  }

  async function gauge(name: string): Promise<number | undefined> {
    const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${gaugePort}/metrics`)).text());
    return [...samples].find(([key]) => key.startsWith(`${name}{`) && key.includes(`stream="${STREAM}"`))?.[1];
  }

  it('shows a quiet stream being read as read and committed a moment ago', async () => {
    spawnWorker(taskQueue);
    await ensureStreamRunning(client, config, { stream: STREAM, mode: 'realtime', sourceUrl: api.url, tuning: { ...DEFAULT_TUNING, sessionSeconds: 3 } });
    await waitUntil('the stream commits', 60_000, async () => (await committedOffset(warehouse.pool, STREAM)) >= 20);

    await waitUntil('ingest status shows the stream read and committed within the last seconds', 30_000, async () => {
      const status = await cliStatus();
      return status.state === 'consuming' && status.reading.secondsSinceLastRead !== null && status.reading.secondsSinceLastRead < 3 && (status.reading.secondsSinceLastCommit ?? Infinity) < 3;
    });
    const status = await cliStatus();
    expect(status.reading.waitingForWorkerSince).toBeNull();
    expect(Date.parse(status.reading.asOf)).toBeGreaterThan(Date.now() - 60_000);

    await waitUntil('the view shows the stream read within the last seconds', 30_000, async () => {
      const row = await viewRow();
      return row.waiting_since === null && Number(row.seconds_since_last_read) < 3 && Number(row.seconds_since_last_commit) < 3;
    });
    await waitUntil('the gauges show it read a moment ago and not waiting', 30_000, async () => {
      const lastRead = await gauge('restaurant_ingest_last_read_timestamp_seconds');
      return lastRead !== undefined && Date.now() / 1000 - lastRead < 15 && (await gauge('restaurant_ingest_waiting_since_timestamp_seconds')) === 0;
    });
  });

  it('says since when a stream has waited for a worker once none runs it, and reads it again when one comes back', async () => {
    const [reader] = workers.slice(-1);
    reader!.kill('SIGTERM');
    await once(reader!, 'exit');
    const goneAt = Date.now();

    // The workflow's own figures are its last session's; the status says what is true now.
    await waitUntil('ingest status says the stream waits for a worker', 60_000, async () => (await cliStatus()).state === 'waiting for a worker');
    await waitUntil('for more than 6 s', 30_000, async () => ((await cliStatus()).reading.secondsSinceLastRead ?? 0) > 6);
    const waiting = await cliStatus();
    const since = Date.parse(waiting.reading.waitingForWorkerSince!);
    expect(since).toBeGreaterThan(goneAt - 15_000);
    expect(since).toBeLessThanOrEqual(Date.parse(waiting.reading.asOf));
    expect(waiting.reading.session).toBeNull();
    expect(waiting.reading.secondsSinceLastCommit).toBeGreaterThan(6);
    // No worker polls the task queue, so none can run the workflow's status query: Temporal's facts tell.
    expect(waiting.unanswered).toMatch(/no worker has taken the workflow's task since .*task queue stream-status-/);
    const text = (await run(process.execPath, [cli, 'ingest', 'status', '--stream', STREAM], { env: cliEnv })).stdout;
    expect(text).toMatch(/^state\s+waiting for a worker since \S+ \(\d+(\.\d)? s\)$/m);
    expect(text).toMatch(/^last read\s+\S+ \(\d+(\.\d)? s ago\)$/m);
    expect(text).toMatch(/^unanswered\s+no worker has taken/m);

    await waitUntil('the view says since when the stream waits', 30_000, async () => (await viewRow()).waiting_since !== null);
    const row = await viewRow();
    expect(Number(row.seconds_since_last_read)).toBeGreaterThan(5);
    expect(row.waiting_since!.getTime()).toBe(row.last_read_at!.getTime());

    let waitingSince: number | undefined;
    await waitUntil('a worker that never ran the stream exports since when it waits', 30_000, async () => {
      waitingSince = await gauge('restaurant_ingest_waiting_since_timestamp_seconds');
      return (waitingSince ?? 0) > 0;
    });
    expect(waitingSince! * 1000).toBeCloseTo(row.waiting_since!.getTime(), -1);

    // A worker back: read again, in all three.
    spawnWorker(taskQueue);
    await waitUntil('ingest status shows the stream read again', 60_000, async () => {
      const status = await cliStatus();
      return status.state === 'consuming' && status.reading.waitingForWorkerSince === null && (status.reading.secondsSinceLastRead ?? Infinity) < 3;
    });
    await waitUntil('the view no longer says it waits', 30_000, async () => (await viewRow()).waiting_since === null);
    await waitUntil('nor do the gauges', 30_000, async () => (await gauge('restaurant_ingest_waiting_since_timestamp_seconds')) === 0);
  });
});
