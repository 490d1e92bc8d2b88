import pg from 'pg';
import { databaseOf, databaseUrl } from './connect.js';
import { errorMessage, pgErrorCode } from './pg-errors.js';

/**
 * The connection string to migrate and use: `databaseName` on the server of `serverUrl`, created when
 * it is missing and the connecting role may create databases; otherwise the database the URL names
 * (a managed Postgres often hands out exactly one database), with a log line saying so.
 */
export async function ensureWarehouseDatabase(
  serverUrl: string,
  databaseName: string,
  log: (line: string) => void = () => undefined,
): Promise<string> {
  const target = databaseUrl(serverUrl, databaseName);
  const given = databaseOf(serverUrl);
  if (given === databaseName) return serverUrl;

  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ exists: boolean; may_create: boolean; me: string }>(
      `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists,
              (SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user) AS may_create,
              current_user AS me`,
      [databaseName],
    );
    const state = rows[0];
    if (state?.exists) return target;
    if (!state?.may_create) {
      log(`database: ${state?.me ?? 'the connecting role'} may not create database ${databaseName}; using database ${given} from the URL instead`);
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
