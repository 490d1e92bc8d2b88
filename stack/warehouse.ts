import path from 'node:path';
import pg from 'pg';
import { loadEventPlugin } from '../processors/registry.js';
import type { StackConfig } from '../config/env.js';
import { ensureWarehouseDatabase, migrateWarehouse } from '../warehouse/migrate.js';
import { ETL_ROLE, roleConnectionString, type RolePasswords } from '../warehouse/roles.js';
import type { LineSink } from './child-process.js';
import { readRuntimeState } from './runtime-state.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { rolePasswords } from './role-passwords.js';

export interface Warehouse {
  /** Connection string of the warehouse database as the migrating (admin) role. */
  readonly adminUrl: string;
  readonly passwords: RolePasswords;
  /** Connection string the worker uses: the least-privileged ETL role when it has a password. */
  readonly etlUrl: string;
  readonly embedded?: EmbeddedPostgres;
}

/** PostgreSQL from DATABASE_URL, or the embedded one started; the warehouse database created if it may be. */
export async function openWarehouse(config: StackConfig, sinks: { postgres: LineSink; migrate: LineSink }): Promise<Warehouse> {
  const embedded = config.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({
        clusterDir: path.join(config.DATA_DIR, 'postgres'),
        preferredPort: config.EMBEDDED_POSTGRES_PORT,
        sink: sinks.postgres,
      });
  try {
    const serverUrl = config.DATABASE_URL ?? embedded!.adminUrl;
    const adminUrl = await ensureWarehouseDatabase(serverUrl, config.WAREHOUSE_DATABASE, sinks.migrate);
    const passwords = rolePasswords(config, Boolean(embedded));
    const etlUrl = passwords.etl ? roleConnectionString(adminUrl, ETL_ROLE, passwords.etl) : adminUrl;
    return { adminUrl, etlUrl, passwords, embedded };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

/** Runs the event-processor plugin's own idempotent DDL (its tables), when a plugin is configured. */
export async function applyPluginSetup(config: StackConfig, adminUrl: string, log: LineSink): Promise<void> {
  if (!config.EVENT_PROCESSORS_MODULE) return;
  const { warehouseSetupSql } = await loadEventPlugin(config.EVENT_PROCESSORS_MODULE);
  if (!warehouseSetupSql) return;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(warehouseSetupSql);
    log(`applied the warehouse setup of plugin ${config.EVENT_PROCESSORS_MODULE}`);
  } finally {
    await client.end();
  }
}

/** `up`'s view: the warehouse opened and migrated to the latest schema. */
export async function startWarehouse(config: StackConfig, sinks: { postgres: LineSink; migrate: LineSink }): Promise<Warehouse> {
  const warehouse = await openWarehouse(config, sinks);
  try {
    const report = await migrateWarehouse({ connectionString: warehouse.adminUrl, passwords: warehouse.passwords, defaultTimeZone: config.WAREHOUSE_TIME_ZONE, log: sinks.migrate });
    sinks.migrate(report.applied.length === 0 ? 'warehouse schema up to date' : `applied ${report.applied.map((m) => m.name).join(', ')}`);
    await applyPluginSetup(config, warehouse.adminUrl, sinks.migrate);
    if (!config.ETL_DB_PASSWORD && !warehouse.embedded) sinks.migrate(`ETL_DB_PASSWORD is not set: the worker connects with DATABASE_URL's role instead of ${ETL_ROLE}`);
    return warehouse;
  } catch (error) {
    await warehouse.embedded?.stop();
    throw error;
  }
}

/**
 * A connection for an operator command (`rollups`, `locations`): to the database DATABASE_URL names,
 * the running stack's, or the embedded one started for the command and stopped after it.
 */
export async function withOperatorConnection<T>(config: StackConfig, applicationName: string, log: LineSink, use: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const running = config.DATABASE_URL ? undefined : readRuntimeState(config.DATA_DIR);
  const warehouse = running ? undefined : await openWarehouse(config, { postgres: () => undefined, migrate: log });
  const pool = new pg.Pool({ connectionString: running?.databaseUrl ?? warehouse!.adminUrl, application_name: applicationName, max: 1 });
  try {
    return await use(pool);
  } finally {
    await pool.end().catch(() => undefined);
    await warehouse?.embedded?.stop();
  }
}
