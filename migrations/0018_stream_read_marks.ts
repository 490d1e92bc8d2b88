import { sql, type Kysely } from 'kysely';
import { INGESTION_STATUS_0006 } from './0006_reporting_views.js';

/**
 * How long a realtime stream may go without a read before it counts as waiting (contracts' bound of
 * that name, as it was when migrated). A running session marks its read at least every couple of
 * seconds (activities/ingestion/session.ts), so only a stream no session reads (or one whose session
 * is stuck) stays unread this long.
 */
const UNREAD_AFTER_SECONDS = 5;

/*
 * A status that tells the truth: when each stream was last read from its source (a running session
 * marks it with every commit, and every couple of seconds while nothing commits) and last committed,
 * as ages at the time asked, and since when a realtime stream has waited, unread: analytics.stream_reading,
 * which the workers' gauges read every few seconds (one row per stream, nothing else scanned), and
 * ingestion_status shows too. ingestion_status keeps every column it had (CREATE OR REPLACE adds these
 * at its end, so its grants stay).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE raw_data.stream_checkpoints ADD COLUMN last_read_at timestamptz;
    COMMENT ON COLUMN raw_data.stream_checkpoints.last_read_at IS 'When a session last read this stream from its source: set with every commit, and by a running session at least every few seconds while nothing commits';
  `.execute(db);
  await sql`
    CREATE VIEW analytics.stream_reading AS
    SELECT c.stream_name,
           c.consumer_mode,
           c.last_read_at,
           -- greatest() would turn "never" (null) into 0: only a known time has an age.
           CASE WHEN c.last_read_at IS NOT NULL THEN round(greatest(extract(epoch FROM now() - c.last_read_at), 0), 3) END AS seconds_since_last_read,
           c.last_batch_at AS last_committed_at,
           CASE WHEN c.last_batch_at IS NOT NULL THEN round(greatest(extract(epoch FROM now() - c.last_batch_at), 0), 3) END AS seconds_since_last_commit,
           CASE WHEN c.consumer_mode = 'realtime'
                 AND (c.last_read_at IS NULL OR c.last_read_at < now() - ${sql.raw(`interval '${UNREAD_AFTER_SECONDS} seconds'`)})
                THEN coalesce(c.last_read_at, c.consumer_claimed_at)
           END AS waiting_since
    FROM raw_data.stream_checkpoints c;
    COMMENT ON VIEW analytics.stream_reading IS 'Per stream, now: when it was last read from its source and last committed, with their ages, and, for a realtime stream no session has read for ${sql.raw(String(UNREAD_AFTER_SECONDS))} seconds, since when it waits (for a worker, or paused or stopped: restaurant-stack ingest status tells which). Polling streams are read every POLL_INTERVAL_SECONDS: waiting_since stays null.';

    CREATE OR REPLACE VIEW analytics.ingestion_status AS
    SELECT c.stream_name,
           c.source_epoch,
           c.event_offset,
           c.source_head_offset,
           greatest(c.source_head_offset - c.event_offset, 0) AS lag_events,
           CASE WHEN c.source_head_offset <= c.event_offset THEN 0
                ELSE round(greatest(extract(epoch FROM now() - c.last_event_ts), 0), 3)
           END AS lag_seconds,
           c.last_event_ts,
           c.last_batch_at,
           c.last_batch_size,
           round(extract(epoch FROM now() - c.last_batch_at), 3) AS seconds_since_last_batch,
           c.events_total,
           rejected.last_hour AS rejected_last_hour,
           rejected.total     AS rejected_total,
           rejected.latest    AS last_rejected_at,
           restarts.count     AS source_restarts,
           restarts.latest    AS last_source_restart_at,
           c.updated_at,
           reading.consumer_mode,
           reading.last_read_at,
           reading.seconds_since_last_read,
           reading.last_committed_at,
           reading.seconds_since_last_commit,
           reading.waiting_since
    FROM raw_data.stream_checkpoints c
    JOIN analytics.stream_reading reading ON reading.stream_name = c.stream_name
    CROSS JOIN LATERAL (
      SELECT count(*) FILTER (WHERE r.received_at > now() - interval '1 hour') AS last_hour,
             count(*) AS total,
             max(r.received_at) AS latest
      FROM raw_data.events_rejected r
      WHERE r.stream_name = c.stream_name
    ) AS rejected
    CROSS JOIN LATERAL (
      SELECT count(*) AS count, max(e.detected_at) AS latest
      FROM raw_data.source_epochs e
      WHERE e.stream_name = c.stream_name AND e.previous_epoch IS NOT NULL
    ) AS restarts
    ORDER BY c.stream_name;
    COMMENT ON VIEW analytics.ingestion_status IS 'Per ingesting stream: committed offset, lag behind the source head in events, and lag in seconds (0 when caught up with the known head, otherwise the age of the newest stored event), last batch, rejected events, source restarts; and analytics.stream_reading''s columns: when it was last read and committed, and since when a realtime stream waits, unread.';
  `.execute(db);
}

/** Back to 0006's view (dropped and recreated: a view loses columns no other way; `migrate` grants it again). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP VIEW analytics.ingestion_status;
    DROP VIEW analytics.stream_reading;
    ${sql.raw(INGESTION_STATUS_0006)}
    ALTER TABLE raw_data.stream_checkpoints DROP COLUMN last_read_at;
  `.execute(db);
}
