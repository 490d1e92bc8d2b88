import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { WarehouseDatabase } from './schema.js';

export interface WarehouseConnectionOptions {
  /** Pool size; the default suits one writer plus a few readers. */
  readonly maxConnections?: number;
  /** Shows up in pg_stat_activity and in the audit log's details. */
  readonly applicationName?: string;
}

/** A Kysely instance over its own pg Pool; `destroy()` it to close the pool. */
export function createWarehouseDb<Schema = WarehouseDatabase>(
  connectionString: string,
  options: WarehouseConnectionOptions = {},
): Kysely<Schema> {
  const pool = new pg.Pool({
    connectionString,
    max: options.maxConnections ?? 10,
    application_name: options.applicationName ?? 'restaurant-stack',
  });
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
}

/** Typed queries over a pool the caller owns (the worker's): destroying the Kysely instance ends that pool. */
export function warehouseDbOver(pool: pg.Pool): Kysely<WarehouseDatabase> {
  return new Kysely<WarehouseDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** The same server and credentials, another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/** The database a connection string names (what pg connects to). */
export function databaseOf(connectionString: string): string {
  const url = new URL(connectionString);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return name || decodeURIComponent(url.username) || 'postgres';
}
