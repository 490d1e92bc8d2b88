import { Migrator, NO_MIGRATIONS, type MigrationResultSet } from 'kysely';
import pg from 'pg';
import { warehouseMigrationProvider } from '../migrations/index.js';
import { createWarehouseDb, databaseOf } from './connect.js';
import { grantWarehousePrivileges } from './grants.js';
import { errorMessage } from './pg-errors.js';
import { ensureWarehouseRoles, type RoleOutcome, type RolePasswords } from './roles.js';

export { ensureWarehouseDatabase } from './database.js';

/**
 * `latest`: apply everything pending (the default); `up`/`down`: one migration forward/back;
 * `reset`: revert every migration (drops the warehouse schemas and their data).
 */
export type MigrationDirection = 'latest' | 'up' | 'down' | 'reset';

export interface MigrateWarehouseOptions {
  readonly connectionString: string;
  readonly passwords?: RolePasswords;
  readonly log?: (line: string) => void;
  readonly direction?: MigrationDirection;
  /** WAREHOUSE_TIME_ZONE: the zone of locations whose code names no known province; applied after migrating up. */
  readonly defaultTimeZone?: string;
}

export interface AppliedMigration {
  readonly name: string;
  readonly direction: 'up' | 'down';
}

export interface WarehouseMigrationReport {
  readonly database: string;
  /** Migrations run by this call, in order; empty when the schema was already where it was asked to be. */
  readonly applied: readonly AppliedMigration[];
  /** The newest migration in effect afterwards, if any. */
  readonly current: string | undefined;
  /** Role and grant outcomes; empty for `down` and `reset`, which leave roles alone. */
  readonly roles: readonly RoleOutcome[];
}

/**
 * Serialises migrate runs on one database across processes, on top of Kysely's own lock, so that
 * role and grant statements (outside Kysely's transaction) never interleave either. Advisory locks
 * are scoped to the current database: runs on other databases proceed in parallel.
 */
const MIGRATE_LOCK_KEY = 7_314_652_019;

const run = (migrator: Migrator, direction: MigrationDirection): Promise<MigrationResultSet> => {
  switch (direction) {
    case 'latest':
      return migrator.migrateToLatest();
    case 'up':
      return migrator.migrateUp();
    case 'down':
      return migrator.migrateDown();
    case 'reset':
      return migrator.migrateTo(NO_MIGRATIONS);
  }
};

/** Brings the warehouse schema of the database in `connectionString` to `direction`, then ensures roles and grants. */
export async function migrateWarehouse(options: MigrateWarehouseOptions): Promise<WarehouseMigrationReport> {
  const { connectionString, passwords = {}, direction = 'latest' } = options;
  const log = options.log ?? (() => undefined);
  const database = databaseOf(connectionString);
  const session = new pg.Client({ connectionString, application_name: 'restaurant-stack migrate' });
  await session.connect();
  const db = createWarehouseDb<unknown>(connectionString, { maxConnections: 2, applicationName: 'restaurant-stack migrate' });
  try {
    const { rows } = await session.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATE_LOCK_KEY]);
    if (!rows[0]?.locked) {
      log(`migrate: another migration of ${database} is running; waiting for it`);
      await session.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_KEY]);
    }

    const migrator = new Migrator({ db, provider: warehouseMigrationProvider });
    const { error, results = [] } = await run(migrator, direction);
    const failed = results.find((result) => result.status === 'Error');
    if (error !== undefined) {
      const which = failed ? `migration ${failed.migrationName} (${failed.direction.toLowerCase()})` : 'migrate';
      throw new Error(`${which} failed on ${database}, nothing was applied: ${errorMessage(error)}`, { cause: error });
    }
    const applied = results
      .filter((result) => result.status === 'Success')
      .map((result): AppliedMigration => ({ name: result.migrationName, direction: result.direction === 'Up' ? 'up' : 'down' }));
    for (const migration of applied) log(`migrate: ${migration.direction === 'up' ? 'applied' : 'reverted'} ${migration.name}`);

    const executed = (await migrator.getMigrations()).filter((migration) => migration.executedAt !== undefined);
    const current = executed.at(-1)?.name;
    if (applied.length === 0) log(`migrate: ${database} is already at ${current ?? 'no migration'}; nothing to do`);

    let roles: RoleOutcome[] = [];
    if (direction === 'latest' || direction === 'up') {
      roles = await ensureWarehouseRoles(session, passwords, log);
      await grantWarehousePrivileges(session, log);
      if (options.defaultTimeZone) await applyDefaultTimeZone(session, options.defaultTimeZone, log);
    }
    return { database, applied, current, roles };
  } finally {
    await db.destroy();
    // Closing the session releases the advisory lock.
    await session.end();
  }
}

/** Locations that had the old default zone follow the new one, their business days re-derived. */
async function applyDefaultTimeZone(session: pg.Client, zone: string, log: (line: string) => void): Promise<void> {
  try {
    const { rows } = await session.query<{ moved: number }>('SELECT analytics.set_default_time_zone($1) AS moved', [zone]);
    const moved = rows[0]?.moved ?? 0;
    if (moved > 0) log(`migrate: WAREHOUSE_TIME_ZONE is ${zone}: ${moved} location(s) that had the default zone moved to it, their business days re-derived`);
  } catch (error) {
    throw new Error(`WAREHOUSE_TIME_ZONE=${zone}: ${errorMessage(error)}`, { cause: error });
  }
}
