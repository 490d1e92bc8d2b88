import { sql, type Kysely } from 'kysely';

/*
 * A stream is its source, whichever workflow (realtime or polling) reads it: the workflow reading a
 * stream claims its checkpoint row, so two workflows never consume one stream at once and a mode
 * switch continues from the same checkpoint. Existing rows stay valid: unclaimed until next read.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints
      ADD COLUMN consumer_workflow_id text,
      ADD COLUMN consumer_mode        text CHECK (consumer_mode IN ('realtime', 'polling')),
      ADD COLUMN consumer_claimed_at  timestamptz;
    COMMENT ON COLUMN raw_data.stream_checkpoints.consumer_workflow_id IS 'The workflow that reads this stream (one at a time); a claim by a workflow no longer running is taken over';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints
      DROP COLUMN consumer_claimed_at,
      DROP COLUMN consumer_mode,
      DROP COLUMN consumer_workflow_id;
  `.execute(db);
}
