import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestionActivities } from '../../activities/ingestion/activities.js';
import { DEFAULT_TUNING } from '../../contracts/ingestion.js';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { loadProcessors } from '../../processors/registry.js';
import { findFreePort } from '../../stack/ports.js';
import { createLogger } from '../../telemetry/logger.js';
import { groundTruth } from '../support/ground-truth.js';
import { expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** Heartbeat timeout and first retry interval of a session (workflows/stream-ingestion.ts). */
const HEARTBEAT_TIMEOUT_MS = 3_000;
const FIRST_RETRY_MS = 200;

/** Serves the event API through; the `stallAt`-th `/events` answer with since > 0 sends half its body and then nothing, for ever. */
async function stallingProxy(upstream: string, stallAt: number): Promise<{ url: string; stalled: () => { at: number; since: number } | undefined; close: () => Promise<void> }> {
  let pages = 0;
  let stalled: { at: number; since: number } | undefined;
  const held: ServerResponse[] = [];
  const relay = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', upstream);
    const answer = await fetch(url);
    const body = await answer.text();
    response.writeHead(answer.status, { 'Content-Type': answer.headers.get('content-type') ?? 'application/json' });
    if (url.pathname === '/events' && Number(url.searchParams.get('since')) > 0 && ++pages === stallAt) {
      stalled = { at: performance.now(), since: Number(url.searchParams.get('since')) };
      held.push(response);
      response.write(body.slice(0, Math.floor(body.length / 2)));
      return;
    }
    response.end(body);
  };
  const server: Server = createServer((request, response) => void relay(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stalled: () => stalled,
    close: async () => {
      for (const response of held) response.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('liveness: progress, not a timer', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('liveness');
    testWorker = await startTestWorker(warehouse.pool, { label: 'liveness' });
  });
  afterAll(async () => {
    await stopAllIngestion();
    for (const close of closers) await close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  it('a source that stalls an /events body mid-page: ingestion moves again within the heartbeat timeout plus the retry interval', async () => {
    const api: EventApi = await startEventApi({ port: 0, seed: 'stalled-page', rate: 2_000, maxEvents: 6_000 });
    closers.push(() => api.close());
    const proxy = await stallingProxy(api.url, 3);
    closers.push(proxy.close);
    const handle = await startIngestion(testWorker, 'polling', { sourceUrl: proxy.url, tuning: { pageSize: 500, sessionSeconds: 30 } });
    await expect.poll(proxy.stalled, { timeout: 60_000 }).toBeDefined();
    const stalled = proxy.stalled()!;
    // The stalled page's events commit once a retried session reads them again.
    await waitForCheckpoint(warehouse.pool, handle.workflowId, stalled.since + 1, 60_000);
    const resumedAfterMs = performance.now() - stalled.at;
    // Before: the body had no deadline and the heartbeat ran on a timer, so only start-to-close
    // (session + 120 s) ended the session. The bound allows for starting the retry on a loaded machine.
    expect(resumedAfterMs).toBeLessThan(HEARTBEAT_TIMEOUT_MS + FIRST_RETRY_MS + 4_000);
    console.log(`stalled /events body: ingestion moved again after ${Math.round(resumedAfterMs)} ms`);
    await waitForCheckpoint(warehouse.pool, handle.workflowId, 6_000);
    await expectWarehouseMatches(warehouse.pool, groundTruth(api));
  }, 120_000);

  it('PostgreSQL unreachable at session start: the session fails and leaves no heartbeat timer behind', async () => {
    const unreachable = new pg.Pool({ connectionString: `postgres://nobody@127.0.0.1:${await findFreePort()}/none`, connectionTimeoutMillis: 2_000 });
    unreachable.on('error', () => undefined);
    closers.push(() => unreachable.end());
    const stopping = new AbortController();
    const activities = createIngestionActivities({
      db: unreachable,
      processors: await loadProcessors(),
      logger: createLogger('test', 'error'),
      workerIdentity: 'test',
      heartbeatIntervalMs: 10,
      stopping: stopping.signal,
    });
    const environment = new MockActivityEnvironment({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
    let heartbeats = 0;
    environment.on('heartbeat', () => (heartbeats += 1));
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const timersBefore = timers();
    const request = { stream: 'unreachable', sourceUrl: 'http://127.0.0.1:9', position: { offset: 0, epoch: 1, lastEventId: null }, ...DEFAULT_TUNING, maxBatchWaitMs: 20 };
    await expect(environment.run(activities.consumeStream, request)).rejects.toThrow(/ECONNREFUSED|connect/);
    const heartbeatsAtFailure = heartbeats;
    // Before: setInterval started ahead of connect(), outside the try, and heartbeated for ever.
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    await expect.poll(() => heartbeats, { timeout: 300, interval: 50 }).toBe(heartbeatsAtFailure);
    expect(heartbeats).toBe(0);
    stopping.abort();
  });
});
