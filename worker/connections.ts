import { NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { connectionOptions, type TemporalTarget } from '../config/temporal.js';

/** The worker's pool: one connection per running ingestion session, plus a few for checkpoints. */
export function createWarehousePool(connectionString: string, max = 10): pg.Pool {
  // A connection attempt that gets no answer (an unreachable server) fails instead of hanging a session.
  const pool = new pg.Pool({ connectionString, max, application_name: 'restaurant-worker', idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 });
  // An idle client losing its server (a PostgreSQL restart) must not crash the worker.
  pool.on('error', () => undefined);
  return pool;
}

export function connectWorkerToTemporal(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(target));
}
