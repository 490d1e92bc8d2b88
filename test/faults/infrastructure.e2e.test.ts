import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { startEmbeddedPostgres } from '../../stack/embedded-postgres.js';
import { findFreePort } from '../../stack/ports.js';
import { startTemporalDevServer } from '../../stack/temporal-server.js';
import { migrateWarehouse } from '../../warehouse/migrate.js';
import { spawnWorkerProcess } from '../support/worker-process.js';
import { groundTruth } from '../support/ground-truth.js';
import { committedOffset, expectWarehouseMatches, startIngestion, stopAllIngestion, waitForCheckpoint, waitUntilSourceAhead } from '../support/ingestion.js';
import { startTestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/**
 * The parts the ingestion depends on fail under load; each case checks that nothing is lost and nothing
 * doubled against the source's ground truth. Each case brings up what it breaks on its own.
 */
describe('infrastructure faults', () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'infrastructure-faults-'));
  chmodSync(scratch, 0o755);
  const apis: EventApi[] = [];
  afterAll(async () => {
    await stopAllIngestion().catch(() => undefined);
    await Promise.all(apis.map((api) => api.close()));
    rmSync(scratch, { recursive: true, force: true });
  });

  async function started(options: Parameters<typeof startEventApi>[0]): Promise<EventApi> {
    const api = await startEventApi(options);
    apis.push(api);
    return api;
  }

  it('the Temporal server restarts (with its persistence) mid-stream', async () => {
    const warehouse = await createMigratedWarehouse('temporal_restart');
    const port = await findFreePort();
    const serverOptions = { cli: inject('temporalCli'), port, namespace: 'default', dbFile: path.join(scratch, 'temporal.sqlite'), sink: () => undefined };
    let server = await startTemporalDevServer(serverOptions);
    const testWorker = await startTestWorker(warehouse.pool, { label: 'temporal-restart', address: server.address });
    try {
      const api = await started({ port: 0, seed: 'temporal-restart', rate: 1_000, maxEvents: 6_000 });
      const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 1_000);
      await server.child.stop('SIGKILL');
      await waitUntilSourceAhead(api, await committedOffset(warehouse.pool, handle.workflowId), 1_000);
      server = await startTemporalDevServer(serverOptions);
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 6_000, 120_000);
      await expectWarehouseMatches(warehouse.pool, groundTruth(api));
      await handle.cancel();
    } finally {
      await testWorker.stop();
      await server.stop();
      await warehouse.close();
    }
  });

  it('PostgreSQL restarts mid-stream', async () => {
    const clusterDir = path.join(scratch, 'postgres');
    let postgres = await startEmbeddedPostgres({ clusterDir, preferredPort: await findFreePort(), sink: () => undefined, settings: { fsync: 'off' } });
    const port = postgres.port;
    const url = new URL(postgres.adminUrl);
    url.pathname = '/postgres';
    await migrateWarehouse({ connectionString: url.toString() });
    const pool = new pg.Pool({ connectionString: url.toString(), max: 6 });
    pool.on('error', () => undefined);
    const testWorker = await startTestWorker(pool, { label: 'postgres-restart' });
    try {
      const api = await started({ port: 0, seed: 'postgres-restart', rate: 1_000, maxEvents: 6_000 });
      const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
      await waitForCheckpoint(pool, handle.workflowId, 1_000);
      const beforeOutage = await committedOffset(pool, handle.workflowId);
      await postgres.stop();
      await waitUntilSourceAhead(api, beforeOutage, 1_000);
      postgres = await startEmbeddedPostgres({ clusterDir, preferredPort: port, sink: () => undefined, settings: { fsync: 'off' } });
      expect(postgres.port).toBe(port);
      await waitForCheckpoint(pool, handle.workflowId, 6_000, 120_000);
      await expectWarehouseMatches(pool, groundTruth(api));
      await handle.cancel();
    } finally {
      await testWorker.stop();
      await pool.end();
      await postgres.stop();
    }
  });

  it('a stalled consumer (worker frozen with SIGSTOP) is cut off by the source and resumes without loss', async () => {
    const warehouse = await createMigratedWarehouse('stalled_consumer');
    // Enough data, fast enough, to fill the kernel's socket buffers and then the source's bound.
    const api = await started({ port: 0, seed: 'stalled', rate: 10_000, maxEvents: 60_000, maxClientBufferBytes: 64 * 1024, paused: true });
    const taskQueue = `stalled-${Date.now()}`;
    const worker = spawnWorkerProcess({ databaseUrl: warehouse.url, taskQueue });
    const testWorker = await startTestWorker(warehouse.pool, { label: 'stalled-client' });
    try {
      const handle = await testWorker.client.workflow.start('restaurantRealtimeStream', {
        workflowId: taskQueue,
        taskQueue,
        args: [{ sourceUrl: api.url, tuning: { sessionSeconds: 30 } }],
      });
      await expect.poll(() => api.connectedClients, { timeout: 60_000 }).toBe(1);
      api.resume();
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 1_000);
      worker.kill('SIGSTOP');
      const frozenAt = await committedOffset(warehouse.pool, handle.workflowId);
      await expect.poll(() => api.stats.slowClientsDisconnected, { timeout: 30_000 }).toBeGreaterThan(0);
      worker.kill('SIGCONT');
      await waitForCheckpoint(warehouse.pool, handle.workflowId, 60_000, 120_000);
      expect(frozenAt).toBeLessThan(60_000);
      await expectWarehouseMatches(warehouse.pool, groundTruth(api));
      await handle.cancel();
    } finally {
      worker.kill('SIGKILL');
      await testWorker.stop();
      await warehouse.close();
    }
  });
});
