import { randomInt } from 'node:crypto';
import type pg from 'pg';

/**
 * A worker's presence is an advisory lock (this space, the worker's key) held by one transaction that
 * stays open for the worker's life on one connection. PostgreSQL releases it the moment that connection
 * ends: a killed worker's presence is gone at once. A transaction-scoped lock, not a session one, so it
 * works through a pooler in transaction mode too: PgBouncer keeps a server connection with the client
 * while its transaction is open, and closes it when the client goes away mid-transaction. The
 * transaction reads nothing and writes nothing between its statements (no snapshot, no transaction id):
 * it holds back neither vacuum nor anyone's locks.
 */
export const PRESENCE_LOCK_SPACE = 0x70726573;

/** How long a presence statement may take: past it the connection is judged lost. */
const PRESENCE_STATEMENT_TIMEOUT_MS = 5_000;

/**
 * Opens the presence transaction on `client` and takes a free key: `preferred` when it is free (the
 * same worker after a reconnect, so its sessions' records still point at it), else a random one.
 */
export async function holdPresence(client: pg.ClientBase, preferred?: number): Promise<number> {
  await client.query(`BEGIN; SET LOCAL statement_timeout = ${PRESENCE_STATEMENT_TIMEOUT_MS}`);
  for (let key = preferred ?? randomKey(); ; key = randomKey()) {
    const { rows } = await client.query<{ held: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS held', [PRESENCE_LOCK_SPACE, key]);
    if (rows[0]!.held) return key;
  }
}

/** One round trip on the presence connection: throws when it is lost. */
export async function confirmPresence(client: pg.ClientBase): Promise<void> {
  await client.query('SELECT 1');
}

/** Ends the presence transaction: the lock goes with it. */
export async function releasePresence(client: pg.ClientBase): Promise<void> {
  await client.query('COMMIT');
}

/** SQL true when the worker with presence key `key` (an SQL expression) is alive. */
export function presenceHeld(key: string): string {
  return `EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.classid = ${PRESENCE_LOCK_SPACE}::oid AND l.objid = (${key})::oid
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  )`;
}

function randomKey(): number {
  return randomInt(1, 2 ** 31 - 1);
}
