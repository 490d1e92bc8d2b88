import { sql, type Kysely } from 'kysely';

/*
 * Fencing: an ingestion session takes ownership of its stream's checkpoint row when it starts (a new
 * owner token, the generation + 1), and every batch it commits updates the row only while it still
 * owns it. A session that froze and was replaced (a zombie) finds its token gone and stops, so the
 * checkpoint can never be moved back by it. A rewind revokes the owner. `event_bytes` records the
 * size of an event too large to ingest (it is rejected with only its first bytes kept).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints
      ADD COLUMN owner_token      text,
      ADD COLUMN owner_generation bigint NOT NULL DEFAULT 0,
      ADD COLUMN owner_since      timestamptz;
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_token IS 'The ingestion session allowed to commit batches of this stream; null after a rewind';
    COMMENT ON COLUMN raw_data.stream_checkpoints.owner_generation IS 'Incremented each time a session takes ownership or a rewind revokes it';
    COMMENT ON COLUMN raw_data.stream_checkpoints.events_total IS 'Raw events this stream actually stored (re-ingested ones are not counted again)';

    ALTER TABLE raw_data.events_rejected ADD COLUMN event_bytes bigint;
    COMMENT ON COLUMN raw_data.events_rejected.event_bytes IS 'Size of an event rejected for being too large; raw then holds only its first bytes';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.events_rejected DROP COLUMN event_bytes;
    ALTER TABLE raw_data.stream_checkpoints DROP COLUMN owner_since, DROP COLUMN owner_generation, DROP COLUMN owner_token;
  `.execute(db);
}
