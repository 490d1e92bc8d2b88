import type pg from 'pg';
import { pgErrorCode } from './pg-errors.js';

/** Application read/write (the old stack's `restaurant_user`). */
export const RESTAURANT_USER_ROLE = 'restaurant_user';
/** The worker's role: DML on raw_data, staging and analytics, no DDL. */
export const ETL_ROLE = 'restaurant_etl';
/** Metabase and other BI tools: SELECT on analytics and raw_data only. */
export const ANALYTICS_READER_ROLE = 'analytics_reader';

export const WAREHOUSE_ROLES = [RESTAURANT_USER_ROLE, ETL_ROLE, ANALYTICS_READER_ROLE] as const;
export type WarehouseRole = (typeof WAREHOUSE_ROLES)[number];

export const ANALYTICS_READER_CONNECTION_LIMIT = 20;

/** The same server and database, logged in as `role` (e.g. the worker as `restaurant_etl`). */
export function roleConnectionString(baseUrl: string, role: string, password: string): string {
  const url = new URL(baseUrl);
  // The URL setters leave `%` alone, so pre-encoding gives exactly one level of escaping.
  url.username = encodeURIComponent(role);
  url.password = encodeURIComponent(password);
  return url.toString();
}

export interface RolePasswords {
  readonly restaurantUser?: string;
  readonly etl?: string;
  readonly analyticsReader?: string;
}

/** What happened to one role during a migrate run. */
export interface RoleOutcome {
  readonly role: WarehouseRole;
  readonly action:
    | 'created'
    | 'created-nologin'
    | 'password-set'
    | 'connection-limit-set'
    | 'unchanged'
    | 'missing'
    | 'not-updated';
  readonly detail: string;
}

const passwordOf: Record<WarehouseRole, { key: keyof RolePasswords; variable: string }> = {
  [RESTAURANT_USER_ROLE]: { key: 'restaurantUser', variable: 'RESTAURANT_DB_PASSWORD' },
  [ETL_ROLE]: { key: 'etl', variable: 'ETL_DB_PASSWORD' },
  [ANALYTICS_READER_ROLE]: { key: 'analyticsReader', variable: 'ANALYTICS_READER_PASSWORD' },
};

const connectionLimitOf = (role: WarehouseRole) => (role === ANALYTICS_READER_ROLE ? ANALYTICS_READER_CONNECTION_LIMIT : -1);

/**
 * Roles are cluster-wide, so migrations of other databases on the same server (parallel test files,
 * a second stack) may create or alter the same role at the same moment. PostgreSQL reports the loser
 * of such a race as duplicate_object/unique_violation (CREATE) or "tuple concurrently updated" (ALTER).
 */
const isLostCreateRace = (error: unknown) => ['42710', '23505'].includes(pgErrorCode(error) ?? '');
const isConcurrentCatalogUpdate = (error: unknown) =>
  pgErrorCode(error) === 'XX000' && error instanceof Error && /concurrently updated/.test(error.message);

async function alterWithRetry(client: pg.ClientBase, statement: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await client.query(statement);
      return;
    } catch (error) {
      if (!isConcurrentCatalogUpdate(error) || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
    }
  }
}

interface ExistingRole {
  readonly rolname: string;
  readonly rolcanlogin: boolean;
  readonly rolconnlimit: number;
}

/**
 * Creates the three warehouse roles when missing and sets the passwords that were given. A role
 * without a password is created NOLOGIN: it still receives its grants, and a later run with the
 * password turns login on. Never logs a password, never fails when the connecting user may not
 * manage roles: it says so and carries on with whatever roles exist.
 */
export async function ensureWarehouseRoles(
  client: pg.ClientBase,
  passwords: RolePasswords,
  log: (line: string) => void,
): Promise<RoleOutcome[]> {
  const { rows: me } = await client.query<{ name: string; may: boolean }>(
    'SELECT rolname AS name, rolsuper OR rolcreaterole AS may FROM pg_roles WHERE rolname = current_user',
  );
  const self = me[0]?.name ?? 'the connecting role';
  const mayManageRoles = me[0]?.may ?? false;
  if (!mayManageRoles) {
    log(`roles: ${self} has neither CREATEROLE nor SUPERUSER, so roles are not created or altered; grants go to the roles that already exist`);
  }
  const { rows: existing } = await client.query<ExistingRole>(
    'SELECT rolname, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = ANY($1)',
    [WAREHOUSE_ROLES],
  );
  const outcomes: RoleOutcome[] = [];
  for (const role of WAREHOUSE_ROLES) {
    const outcome = await ensureRole(client, {
      role,
      password: passwords[passwordOf[role].key],
      existing: existing.find((row) => row.rolname === role),
      mayManageRoles,
    });
    log(`roles: ${role} ${outcome.action}${outcome.detail ? ` (${outcome.detail})` : ''}`);
    outcomes.push(outcome);
  }
  await setReaderPlanning(client, outcomes, mayManageRoles, log);
  return outcomes;
}

/**
 * Dashboard queries are short reads over rollups, but their estimated cost can pass jit_above_cost:
 * on servers built with LLVM (Debian's and the postgres image; not the embedded one) compiling them
 * took 100–200 ms of a 20 ms card. The reader role plans without JIT wherever it connects.
 */
async function setReaderPlanning(client: pg.ClientBase, outcomes: readonly RoleOutcome[], mayManageRoles: boolean, log: (line: string) => void): Promise<void> {
  if (outcomes.some((outcome) => outcome.role === ANALYTICS_READER_ROLE && outcome.action === 'missing')) return;
  if (!mayManageRoles) {
    log(`roles: ${ANALYTICS_READER_ROLE} keeps the server's jit setting (ALTER ROLE ${ANALYTICS_READER_ROLE} SET jit = off needs CREATEROLE)`);
    return;
  }
  await alterWithRetry(client, `ALTER ROLE ${client.escapeIdentifier(ANALYTICS_READER_ROLE)} SET jit = off`);
}

async function ensureRole(
  client: pg.ClientBase,
  input: { role: WarehouseRole; password: string | undefined; existing: ExistingRole | undefined; mayManageRoles: boolean },
): Promise<RoleOutcome> {
  const { role, password, mayManageRoles } = input;
  const name = client.escapeIdentifier(role);
  const limit = connectionLimitOf(role);
  const login = password === undefined ? 'NOLOGIN' : `LOGIN PASSWORD ${client.escapeLiteral(password)}`;
  const unset = `${passwordOf[role].variable} is not set`;
  let existing = input.existing;

  if (!existing) {
    if (!mayManageRoles) return { role, action: 'missing', detail: 'the connecting role may not create it' };
    try {
      await client.query(`CREATE ROLE ${name} ${login} NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT ${limit}`);
      return password === undefined
        ? { role, action: 'created-nologin', detail: `${unset}: it cannot log in until a password is given` }
        : { role, action: 'created', detail: '' };
    } catch (error) {
      if (!isLostCreateRace(error)) throw error;
      // Another migration created it a moment ago: treat it as existing, with unknown attributes.
      existing = { rolname: role, rolcanlogin: false, rolconnlimit: Number.NaN };
    }
  }

  const limitDiffers = existing.rolconnlimit !== limit;
  if (password === undefined && !limitDiffers) {
    return { role, action: 'unchanged', detail: existing.rolcanlogin ? '' : `${unset}: NOLOGIN` };
  }
  if (!mayManageRoles) return { role, action: 'not-updated', detail: 'the connecting role may not alter it' };
  const setLogin = password === undefined ? '' : login;
  await alterWithRetry(client, `ALTER ROLE ${name} WITH ${setLogin} CONNECTION LIMIT ${limit}`);
  return password === undefined
    ? { role, action: 'connection-limit-set', detail: String(limit) }
    : { role, action: 'password-set', detail: 'LOGIN' };
}
