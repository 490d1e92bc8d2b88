import { NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { connectionOptions, type TemporalTarget } from '../config/temporal.js';

/**
 * The worker's pool: its presence, its sessions' batches (one connection per batch being written) and
 * the short activities share it, so the worker's connections stay at `max` however many streams it carries.
 */
export function createWarehousePool(connectionString: string, max: number): pg.Pool {
  // A connection attempt that gets no answer (an unreachable server) fails instead of hanging a session.
  const pool = new pg.Pool({ connectionString, max, application_name: 'restaurant-worker', idleTimeoutMillis: 30_000, connectionTimeoutMillis: 5_000 });
  // An idle client losing its server (a PostgreSQL restart) must not crash the worker.
  pool.on('error', () => undefined);
  return pool;
}

export function connectWorkerToTemporal(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(target));
}
