import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, inject, it } from 'vitest';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer.js';
import { createMigratedWarehouse } from '../support/warehouse.js';
import { expectKilledWorkersSessionMoved, expectZombieFenced, type FaultScene } from '../support/worker-faults.js';

/**
 * `restaurant-stack worker` processes whose DATABASE_URL is PgBouncer in transaction pooling mode, with
 * fewer server connections than the workers have clients: no session state follows a client from one
 * transaction to the next, yet ingestion stays exact and fenced, and a killed worker's sessions move at once.
 */
describe('exactly once through PgBouncer in transaction pooling mode', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let bouncer: PgBouncer;
  let scene: FaultScene;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('pgbouncer');
    bouncer = await startPgBouncer(inject('postgresAdminUrl'), { poolSize: 8 });
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    scene = { pool: warehouse.pool, client: new Client({ connection, namespace: 'default' }), workerDatabaseUrl: bouncer.urlFor(warehouse.name) };
  });
  beforeEach(async () => {
    await warehouse.pool.query('TRUNCATE raw_data.events_raw, raw_data.events_rejected, raw_data.stream_checkpoints, staging.pending_children, analytics.orders CASCADE');
  });
  afterAll(async () => {
    await scene?.client.connection.close();
    await bouncer?.stop();
    await warehouse?.close();
  });

  it('a zombie session (its worker frozen past the heartbeat timeout, then thawed) moves nothing back, loses nothing, doubles nothing', async () => {
    await expectZombieFenced(scene, 'pgbouncer');
  }, 240_000);

  it('a killed worker’s session is failed at once by the surviving worker (its presence transaction ended with its connection to the pooler)', async () => {
    await expectKilledWorkersSessionMoved(scene, 'pgbouncer');
  }, 200_000);
});
