import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../warehouse/connect.js';
import { migrateWarehouse, type WarehouseMigrationReport } from '../../warehouse/migrate.js';
import {
  ANALYTICS_READER_CONNECTION_LIMIT,
  ANALYTICS_READER_ROLE,
  ETL_ROLE,
  RESTAURANT_USER_ROLE,
  WAREHOUSE_ROLES,
  roleConnectionString,
} from '../../warehouse/roles.js';
import { pgErrorCode } from '../../warehouse/pg-errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/*
 * Roles are cluster-wide and other test files migrate in parallel on the same server, so privilege
 * checks run as the role through SET ROLE from the superuser (no password involved); only the login
 * test depends on the passwords this file sets.
 */
const passwords = {
  restaurantUser: 'app-pw-Ünïcode %40:/?#',
  etl: 'etl-pw-warehouse-test',
  analyticsReader: 'reader-pw-warehouse-test',
};

const order = () => `('${randomUUID()}', 'dine_in', now(), 'LOC-ON-010')`;

describe('warehouse roles', () => {
  let database: TestDatabase;
  let report: WarehouseMigrationReport;

  beforeAll(async () => {
    database = await createTestDatabase('roles');
    report = await migrateWarehouse({ connectionString: database.url, passwords });
  });
  afterAll(async () => database?.drop());

  /** Runs `statement` as `role` inside a transaction that is rolled back; the SQLSTATE on failure. */
  async function attempt(role: string, statement: string): Promise<string> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${role}`);
      await client.query(statement);
      return 'ok';
    } catch (error) {
      return pgErrorCode(error) ?? String(error);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  }
  const denied = '42501';

  it('creates the three roles with login, a connection limit for the reader and no special powers', async () => {
    expect(report.roles.map((outcome) => outcome.role)).toEqual([...WAREHOUSE_ROLES]);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query(
      `SELECT rolname, rolcanlogin, rolconnlimit, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
      [WAREHOUSE_ROLES],
    );
    await client.end();
    expect(rows).toEqual(
      [...WAREHOUSE_ROLES].sort().map((rolname) => ({
        rolname,
        rolcanlogin: true,
        rolconnlimit: rolname === ANALYTICS_READER_ROLE ? ANALYTICS_READER_CONNECTION_LIMIT : -1,
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
      })),
    );
  });

  it('lets each role log in with the password from the environment', async () => {
    const logins: Array<[string, string]> = [
      [RESTAURANT_USER_ROLE, passwords.restaurantUser],
      [ETL_ROLE, passwords.etl],
      [ANALYTICS_READER_ROLE, passwords.analyticsReader],
    ];
    for (const [role, password] of logins) {
      const client = new pg.Client({ connectionString: roleConnectionString(database.url, role, password) });
      await client.connect();
      const { rows } = await client.query<{ me: string }>('SELECT current_user AS me');
      await client.end();
      expect(rows[0]?.me).toBe(role);
    }
  });

  it('analytics_reader plans its dashboard queries without JIT compilation', async () => {
    const client = new pg.Client({ connectionString: roleConnectionString(database.url, ANALYTICS_READER_ROLE, passwords.analyticsReader) });
    await client.connect();
    const { rows } = await client.query<{ jit: string }>('SHOW jit');
    await client.end();
    expect(rows[0]?.jit).toBe('off');
  });

  it('survives other databases on the server migrating, with the same passwords, at the same moment', async () => {
    const others = await Promise.all([1, 2, 3].map((n) => createTestDatabase(`roles_parallel_${n}`)));
    try {
      const reports = await Promise.all(others.map((other) => migrateWarehouse({ connectionString: other.url, passwords })));
      for (const parallel of reports) expect(parallel.roles.map((outcome) => outcome.action)).toEqual(['password-set', 'password-set', 'password-set']);
    } finally {
      await Promise.all(others.map((other) => other.drop()));
    }
    const client = new pg.Client({ connectionString: roleConnectionString(database.url, ETL_ROLE, passwords.etl) });
    await client.connect();
    await client.end();
  });

  it('analytics_reader reads analytics and raw_data, calls the health functions, and can change nothing', async () => {
    for (const read of [
      'SELECT * FROM analytics.daily_sales',
      'SELECT * FROM analytics.orders',
      'SELECT * FROM analytics.ingestion_status',
      'SELECT * FROM raw_data.events_raw',
      'SELECT analytics.health_check()',
      'SELECT * FROM analytics.validate_data_consistency()',
    ]) {
      expect([read, await attempt(ANALYTICS_READER_ROLE, read)]).toEqual([read, 'ok']);
    }
    for (const write of [
      `INSERT INTO analytics.orders (order_id, service_type, order_ts, location_code) VALUES ${order()}`,
      `UPDATE analytics.orders SET tip = 1`,
      `DELETE FROM raw_data.events_raw`,
      `TRUNCATE analytics.feedback`,
      `CREATE TABLE analytics.reader_scratch (id int)`,
      `CREATE TABLE raw_data.reader_scratch (id int)`,
      `CREATE TABLE public.reader_scratch (id int)`,
      `CREATE VIEW analytics.reader_view AS SELECT 1`,
      `SELECT * FROM staging.pending_children`,
    ]) {
      expect([write, await attempt(ANALYTICS_READER_ROLE, write)]).toEqual([write, denied]);
    }
  });

  it('restaurant_etl writes rows in every warehouse schema but cannot change the schema or the audit trail', async () => {
    const id = randomUUID();
    const writes = `
      INSERT INTO analytics.orders (order_id, service_type, order_ts, location_code) VALUES ('${id}', 'takeout', now(), 'LOC-ON-011');
      UPDATE analytics.orders SET subtotal = 10, tax = 1.30, tip = 0, total = 11.30 WHERE order_id = '${id}';
      INSERT INTO raw_data.events_raw (event_offset, event_id, event_type, ts, payload, stream_name) VALUES (1, '${randomUUID()}', 'order_created', now(), '{}', 's');
      INSERT INTO raw_data.events_rejected (stream_name, raw, reason) VALUES ('s', 'garbage', 'invalid JSON');
      INSERT INTO raw_data.stream_checkpoints (stream_name, event_offset) VALUES ('s', 1);
      INSERT INTO staging.pending_children (event_id, order_id, event_type, stream_name, event_offset, ts, payload)
        VALUES ('${randomUUID()}', '${randomUUID()}', 'payment_captured', 's', 2, now(), '{}');
      DELETE FROM staging.pending_children;
      DELETE FROM raw_data.events_raw WHERE ingested_at < now() - interval '30 days';
      SELECT analytics.get_latest_offset('s');`;
    expect(await attempt(ETL_ROLE, writes)).toBe('ok');

    for (const change of [
      'CREATE TABLE analytics.etl_scratch (id int)',
      'CREATE TABLE staging.etl_scratch (id int)',
      'CREATE TABLE public.etl_scratch (id int)',
      'DROP TABLE analytics.orders',
      'DROP VIEW analytics.daily_sales',
      'ALTER TABLE raw_data.events_raw ADD COLUMN note text',
      'CREATE INDEX ON analytics.orders (location_code)',
      'TRUNCATE analytics.orders CASCADE',
      'UPDATE analytics.audit_log SET user_name = current_user',
      'DELETE FROM analytics.audit_log',
      'CREATE SCHEMA etl_scratch',
    ]) {
      expect([change, await attempt(ETL_ROLE, change)]).toEqual([change, denied]);
    }
  });

  it('restaurant_user, the application role, can write facts and read the views', async () => {
    const id = randomUUID();
    const statement = `
      INSERT INTO analytics.orders (order_id, service_type, order_ts, location_code, subtotal, tax, tip, total)
        VALUES ('${id}', 'delivery', now(), 'LOC-ON-012', 10, 1.30, 1, 12.30);
      INSERT INTO analytics.payments (payment_id, order_id, method, amount) VALUES ('${randomUUID()}', '${id}', 'cash', 12.30);
      INSERT INTO analytics.feedback (feedback_id, order_id, rating, nps, created_ts) VALUES ('${randomUUID()}', '${id}', 5, 10, now());
      DELETE FROM analytics.feedback WHERE order_id = '${id}';
      SELECT * FROM analytics.hourly_sales;`;
    expect(await attempt(RESTAURANT_USER_ROLE, statement)).toBe('ok');
    expect(await attempt(RESTAURANT_USER_ROLE, 'DROP TABLE analytics.feedback')).toBe(denied);
  });

  it('default privileges: a table added later is readable by the reader and writable by the ETL role', async () => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query('CREATE TABLE analytics.promotions (promo_code text PRIMARY KEY, percent_off int)');
    await admin.end();

    expect(await attempt(ANALYTICS_READER_ROLE, 'SELECT * FROM analytics.promotions')).toBe('ok');
    expect(await attempt(ETL_ROLE, `INSERT INTO analytics.promotions VALUES ('WINTER', 10)`)).toBe('ok');
    expect(await attempt(ANALYTICS_READER_ROLE, `INSERT INTO analytics.promotions VALUES ('WINTER', 10)`)).toBe(denied);
  });
});

describe('migrating as a role that may not create roles', () => {
  const owner = `wh_owner_${randomBytes(4).toString('hex')}`;
  const ownerPassword = randomBytes(12).toString('hex');
  let admin: TestDatabase;
  let ownedUrl: string;

  beforeAll(async () => {
    admin = await createTestDatabase('roles_owner');
    const client = new pg.Client({ connectionString: admin.url });
    await client.connect();
    await client.query(`CREATE ROLE ${owner} LOGIN PASSWORD '${ownerPassword}' NOCREATEROLE NOCREATEDB`);
    await client.query(`CREATE DATABASE ${owner} OWNER ${owner}`);
    await client.end();
    ownedUrl = roleConnectionString(databaseUrl(admin.url, owner), owner, ownerPassword);
  });
  afterAll(async () => {
    const client = new pg.Client({ connectionString: admin.url });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${owner} WITH (FORCE)`);
    await client.query(`DROP ROLE IF EXISTS ${owner}`);
    await client.end();
    await admin.drop();
  });

  it('says so clearly, migrates anyway and grants to the roles that exist', async () => {
    // Make sure the roles exist, as an administrator would have created them.
    await migrateWarehouse({ connectionString: admin.url });
    const lines: string[] = [];
    const result = await migrateWarehouse({ connectionString: ownedUrl, passwords: { etl: 'not-applied' }, log: (line) => lines.push(line) });

    expect(result.current).toBeDefined();
    expect(lines).toContain(
      `roles: ${owner} has neither CREATEROLE nor SUPERUSER, so roles are not created or altered; grants go to the roles that already exist`,
    );
    expect(result.roles.find((outcome) => outcome.role === ETL_ROLE)?.action).toBe('not-updated');

    const client = new pg.Client({ connectionString: ownedUrl });
    await client.connect();
    const { rows } = await client.query<{ reads: boolean; writes: boolean }>(
      `SELECT has_table_privilege($1, 'analytics.orders', 'SELECT') AS reads, has_table_privilege($2, 'analytics.orders', 'INSERT') AS writes`,
      [ANALYTICS_READER_ROLE, ETL_ROLE],
    );
    await client.end();
    expect(rows[0]).toEqual({ reads: true, writes: true });
  });
});
