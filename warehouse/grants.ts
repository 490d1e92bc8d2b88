import type pg from 'pg';
import { errorMessage, pgErrorCode } from './pg-errors.js';
import { ANALYTICS_READER_ROLE, ETL_ROLE, RESTAURANT_USER_ROLE, WAREHOUSE_ROLES, type WarehouseRole } from './roles.js';

const WRITER_SCHEMAS = ['raw_data', 'staging', 'analytics'];
const READER_SCHEMAS = ['raw_data', 'analytics'];
/** Written only by the audit triggers: writers may add rows (the triggers run as them) but not rewrite history. */
const APPEND_ONLY_TABLES = ['analytics.audit_log'];

function writerGrants(role: string, appendOnly: readonly string[]): string[] {
  const schemas = WRITER_SCHEMAS.join(', ');
  return [
    `GRANT USAGE ON SCHEMA ${schemas} TO ${role}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schemas} TO ${role}`,
    `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${schemas} TO ${role}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO ${role}`,
    ...appendOnly.map((table) => `REVOKE UPDATE, DELETE, TRUNCATE ON ${table} FROM ${role}`),
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schemas} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schemas} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT EXECUTE ON FUNCTIONS TO ${role}`,
  ];
}

function readerGrants(role: string): string[] {
  const schemas = READER_SCHEMAS.join(', ');
  return [
    `GRANT USAGE ON SCHEMA ${schemas} TO ${role}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schemas} TO ${role}`,
    `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA analytics TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schemas} GRANT SELECT ON TABLES TO ${role}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT EXECUTE ON FUNCTIONS TO ${role}`,
  ];
}

const grantsFor: Record<WarehouseRole, (role: string, appendOnly: readonly string[]) => string[]> = {
  [RESTAURANT_USER_ROLE]: writerGrants,
  [ETL_ROLE]: writerGrants,
  [ANALYTICS_READER_ROLE]: readerGrants,
};

/**
 * Grants each existing warehouse role its privileges in the current database, on every run: GRANT is
 * idempotent, and re-granting covers roles that appeared after the schema was first migrated. Default
 * privileges make tables created later by the migrating user follow without another run.
 */
export async function grantWarehousePrivileges(client: pg.ClientBase, log: (line: string) => void): Promise<WarehouseRole[]> {
  const { rows } = await client.query<{ rolname: WarehouseRole }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [
    WAREHOUSE_ROLES,
  ]);
  const present = WAREHOUSE_ROLES.filter((role) => rows.some((row) => row.rolname === role));
  const { rows: db } = await client.query<{ name: string }>('SELECT current_database() AS name');
  const databaseName = db[0]?.name ?? '';
  const database = client.escapeIdentifier(databaseName);
  // After a partial `up` the audit log may not exist yet.
  const { rows: appendOnly } = await client.query<{ name: string }>(
    'SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL',
    [APPEND_ONLY_TABLES],
  );

  await client.query('BEGIN');
  try {
    for (const role of present) {
      const name = client.escapeIdentifier(role);
      for (const statement of [`GRANT CONNECT ON DATABASE ${database} TO ${name}`, ...grantsFor[role](name, appendOnly.map((row) => row.name))]) {
        await client.query(statement);
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  const missing = WAREHOUSE_ROLES.filter((role) => !present.includes(role));
  log(`grants: ${present.length ? present.join(', ') : 'no role'} granted in ${databaseName}${missing.length ? `; missing roles: ${missing.join(', ')}` : ''}`);
  await closePublicSchema(client, log);
  return present;
}

/**
 * PostgreSQL 15 no longer lets every role create objects in `public`, older servers still do; the
 * reader and the ETL role must not change the schema on either.
 */
async function closePublicSchema(client: pg.ClientBase, log: (line: string) => void): Promise<void> {
  try {
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  } catch (error) {
    const code = pgErrorCode(error);
    if (code !== '42501' && code !== '3F000') throw error;
    log(`grants: could not revoke CREATE on schema public from PUBLIC (${errorMessage(error)})`);
  }
}
