import { sql, type Kysely } from 'kysely';

/*
 * A session's liveness is its worker's, not its own backend's: sessions borrow a connection per batch
 * (through a pooler in transaction mode too), so no backend belongs to a session any more. Each worker
 * holds a presence lock for its life (activities/warehouse/presence.ts); the owning session records
 * its worker's key, and any worker fails the sessions whose worker's lock is gone.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints
      DROP COLUMN owner_backend_pid,
      DROP COLUMN owner_backend_start,
      ADD COLUMN owner_worker integer;
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_worker IS 'Presence key of the owning session''s worker: the advisory lock (1886545267, key) it holds while alive; null when unknown';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints
      DROP COLUMN owner_worker,
      ADD COLUMN owner_backend_pid integer,
      ADD COLUMN owner_backend_start timestamptz;
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_backend_pid IS 'pg_backend_pid() of the owning session''s connection';
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_backend_start IS 'When that backend started (a pid can be reused)';
  `.execute(db);
}
