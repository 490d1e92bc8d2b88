import { sql, type Kysely } from 'kysely';

/*
 * Where the owning session lives: its PostgreSQL backend (pid and start time) and its activity task
 * token. PostgreSQL sees a killed worker's connection close at once, long before Temporal's heartbeat
 * timeout; any worker that finds a stream's owning backend gone fails that very attempt by its task
 * token, so the retry starts without waiting out the timeout (worker/abandoned-sessions.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints
      ADD COLUMN owner_backend_pid   integer,
      ADD COLUMN owner_backend_start timestamptz,
      ADD COLUMN owner_task_token    bytea;
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_backend_pid IS 'pg_backend_pid() of the owning session''s connection';
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_backend_start IS 'When that backend started (a pid can be reused)';
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_task_token IS 'Temporal task token of the owning session''s activity attempt; cleared once a worker has failed an abandoned one';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints DROP COLUMN owner_task_token, DROP COLUMN owner_backend_start, DROP COLUMN owner_backend_pid;
  `.execute(db);
}
