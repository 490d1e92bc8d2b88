import pg from 'pg';
import { databaseOf, databaseUrl } from './connect.js';
import { errorMessage, pgErrorCode } from './pg-errors.js';

/** The server's maintenance database: a URL naming it names the server, not a warehouse. */
const MAINTENANCE_DATABASE = 'postgres';

/**
 * The warehouse database a connection string names: its database, as every PostgreSQL tool reads it;
 * undefined when it names none or the maintenance database `postgres` (it then names only the server).
 */
function namedDatabase(connectionString: string): string | undefined {
  const path = decodeURIComponent(new URL(connectionString).pathname.replace(/^\//, ''));
  return path && path !== MAINTENANCE_DATABASE ? path : undefined;
}

/** The warehouse database: the one the connection string names, else `fallbackName` (WAREHOUSE_DATABASE). */
export function warehouseDatabaseName(connectionString: string, fallbackName: string): string {
  return namedDatabase(connectionString) ?? fallbackName;
}

/**
 * The connection string to migrate and use: the warehouse database on the server of `serverUrl`
 * (see `warehouseDatabaseName`), created when it is missing and the connecting role may create
 * databases. A URL that names a missing database the role may not create is an error; a URL that
 * names no warehouse falls back to the database it connects to, with a log line saying so (a managed
 * Postgres often hands out exactly one database).
 */
export async function ensureWarehouseDatabase(
  serverUrl: string,
  fallbackName: string,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  const named = namedDatabase(serverUrl) !== undefined;
  const databaseName = warehouseDatabaseName(serverUrl, fallbackName);
  const target = databaseUrl(serverUrl, databaseName);
  if (await reachable(target)) return target;

  const maintenanceUrl = databaseUrl(serverUrl, named ? MAINTENANCE_DATABASE : databaseOf(serverUrl));
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ may_create: boolean; me: string }>(
      'SELECT (SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user) AS may_create, current_user AS me',
    );
    const state = rows[0];
    if (!state?.may_create) {
      const who = state?.me ?? 'the connecting role';
      if (named) throw new Error(`database ${databaseName} (named by the connection string) does not exist, and ${who} may not create it: create it, or give ${who} CREATEDB`);
      log(`database: ${who} may not create database ${databaseName}; using database ${databaseOf(serverUrl)} from the URL instead`);
      return serverUrl;
    }
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(databaseName)}`);
      log(`database: created ${databaseName}`);
    } catch (error) {
      // 42P04: another process created it between our check and our CREATE.
      if (pgErrorCode(error) !== '42P04' && pgErrorCode(error) !== '23505') {
        throw new Error(`could not create database ${databaseName}: ${errorMessage(error)}`, { cause: error });
      }
    }
    return target;
  } finally {
    await client.end();
  }
}

/** Whether the database exists (3D000: it does not); any other failure to connect is the caller's to see. */
async function reachable(connectionString: string): Promise<boolean> {
  const client = new pg.Client({ connectionString });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if (pgErrorCode(error) === '3D000') return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
