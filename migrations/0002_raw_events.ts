import { sql, type Kysely } from 'kysely';

/*
 * Index choices, measured by the index-cost study (numbers in warehouse/README.md): events_raw keeps
 * its primary key, the idempotency key of every insert, and a BRIN on ingested_at that costs no
 * measurable CPU or WAL yet lets retention find (or not find) old events without reading the whole
 * table. The old design's btrees on ts, event_type, partition_key and ingested_at and its GIN on
 * payload cost 2.5x the CPU and 3.4x the WAL per event, and no view or function reads through them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE raw_data.events_raw (
      event_offset  bigint      NOT NULL,
      event_id      uuid        PRIMARY KEY,
      event_type    text        NOT NULL,
      ts            timestamptz NOT NULL,
      partition_key text,
      payload       jsonb       NOT NULL,
      ingested_at   timestamptz NOT NULL DEFAULT now(),
      ingested_by   text        NOT NULL DEFAULT current_user,
      stream_name   text        NOT NULL,
      source_epoch  text        NOT NULL DEFAULT '1'
    );
    CREATE INDEX events_raw_ingested_at_brin ON raw_data.events_raw USING brin (ingested_at) WITH (autosummarize = on);
    COMMENT ON TABLE raw_data.events_raw IS 'Complete audit trail of all streaming events, one row per event_id';
    COMMENT ON COLUMN raw_data.events_raw.event_offset IS 'Source offset; restarts at 1 when the source restarts, so it is unique only within (stream_name, source_epoch)';
    COMMENT ON COLUMN raw_data.events_raw.payload IS 'Complete event payload as JSON';
    COMMENT ON COLUMN raw_data.events_raw.source_epoch IS 'Label of the source run the offset belongs to (see raw_data.source_epochs)';

    CREATE TABLE raw_data.events_rejected (
      id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      stream_name  text        NOT NULL,
      source_epoch text        NOT NULL DEFAULT '1',
      event_offset bigint,
      event_id     uuid,
      event_type   text,
      raw          text        NOT NULL,
      reason       text        NOT NULL,
      received_at  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT events_rejected_source_position UNIQUE (stream_name, source_epoch, event_offset)
    );
    CREATE INDEX events_rejected_stream_received_at ON raw_data.events_rejected (stream_name, received_at);
    COMMENT ON TABLE raw_data.events_rejected IS 'Events that failed validation, as received, with the reason; they never stop the stream';

    CREATE TABLE raw_data.stream_checkpoints (
      stream_name         text        PRIMARY KEY,
      event_offset        bigint      NOT NULL DEFAULT 0 CHECK (event_offset >= 0),
      source_epoch        text        NOT NULL DEFAULT '1',
      last_event_id       uuid,
      source_head_offset  bigint,
      source_head_seen_at timestamptz,
      last_event_ts       timestamptz,
      last_batch_at       timestamptz,
      last_batch_size     integer     NOT NULL DEFAULT 0,
      events_total        bigint      NOT NULL DEFAULT 0,
      updated_at          timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE raw_data.stream_checkpoints IS 'Committed offset per stream, written in the same transaction as the events it covers (replaces the Airflow Variable restaurant_stream_offset)';

    CREATE TABLE raw_data.source_epochs (
      stream_name     text        NOT NULL,
      source_epoch    text        NOT NULL,
      first_offset    bigint      NOT NULL,
      previous_epoch  text,
      previous_offset bigint,
      detected_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (stream_name, source_epoch)
    );
    COMMENT ON TABLE raw_data.source_epochs IS 'Source restarts (offsets went backwards) noticed by the consumer';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE raw_data.source_epochs;
    DROP TABLE raw_data.stream_checkpoints;
    DROP TABLE raw_data.events_rejected;
    DROP TABLE raw_data.events_raw;
  `.execute(db);
}
