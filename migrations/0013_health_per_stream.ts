import { sql, type Kysely } from 'kysely';
import { HEALTH_CHECK_0007 } from './0007_health_functions.js';

/*
 * health_check() per stream: besides the warehouse-wide verdicts (unchanged), the freshness check
 * gives each stream's age (`per_stream_age_seconds`) and the rejected-events check each stream's count
 * in the last hour (`per_stream`), as the lag check already did. The function is restated whole:
 * CREATE OR REPLACE keeps its grants.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION analytics.health_check(
      p_stale_warning         interval DEFAULT interval '2 minutes',
      p_stale_critical        interval DEFAULT interval '10 minutes',
      p_lag_warning           bigint   DEFAULT 1000,
      p_lag_critical          bigint   DEFAULT 10000,
      p_rejected_warning      bigint   DEFAULT 1,
      p_rejected_critical     bigint   DEFAULT 100,
      p_staged_max_age        interval DEFAULT interval '10 minutes',
      p_connections_warning   numeric  DEFAULT 0.80,
      p_connections_critical  numeric  DEFAULT 0.95
    )
    RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    DECLARE
      newest_event  timestamptz;
      last_batch    timestamptz;
      event_age     interval;
      best_lag      bigint;
      streams       jsonb;
      stream_ages   jsonb;
      stream_rejected jsonb;
      rejected      bigint;
      staged_stale  bigint;
      oldest_staged timestamptz;
      in_use        integer;
      max_conn      integer;
      freshness     jsonb;
      lag           jsonb;
      rejections    jsonb;
      staged        jsonb;
      connections   jsonb;
      statuses      text[];
    BEGIN
      SELECT max(last_event_ts), max(last_batch_at),
             jsonb_object_agg(stream_name, round(extract(epoch FROM greatest(now() - last_event_ts, interval '0')), 3))
        INTO newest_event, last_batch, stream_ages FROM raw_data.stream_checkpoints;
      event_age := greatest(now() - newest_event, interval '0');
      freshness := jsonb_build_object(
        'status', CASE WHEN newest_event IS NULL OR event_age >= p_stale_critical THEN 'critical'
                       WHEN event_age >= p_stale_warning THEN 'warning'
                       ELSE 'healthy' END,
        'newest_event_ts', newest_event,
        'last_batch_at', last_batch,
        'age_seconds', round(extract(epoch FROM event_age), 3),
        'warning_after_seconds', round(extract(epoch FROM p_stale_warning), 3),
        'critical_after_seconds', round(extract(epoch FROM p_stale_critical), 3),
        'per_stream_age_seconds', coalesce(stream_ages, '{}'::jsonb));
      IF newest_event IS NULL THEN
        freshness := freshness || jsonb_build_object('message', 'no event has been ingested yet');
      END IF;

      -- Every stream feeds the same facts: the warehouse is as current as its most current stream.
      SELECT min(s.lag_events), jsonb_object_agg(s.stream_name, s.lag_events)
        INTO best_lag, streams
        FROM (SELECT c.stream_name, greatest(c.source_head_offset - c.event_offset, 0) AS lag_events
                FROM raw_data.stream_checkpoints c) s;
      lag := jsonb_build_object(
        'status', CASE WHEN best_lag IS NULL THEN 'unknown'
                       WHEN best_lag >= p_lag_critical THEN 'critical'
                       WHEN best_lag >= p_lag_warning THEN 'warning'
                       ELSE 'healthy' END,
        'lag_events', best_lag,
        'per_stream', coalesce(streams, '{}'::jsonb),
        'warning_at', p_lag_warning,
        'critical_at', p_lag_critical);

      SELECT coalesce(sum(n), 0), jsonb_object_agg(stream_name, n) INTO rejected, stream_rejected
        FROM (SELECT stream_name, count(*) AS n FROM raw_data.events_rejected
               WHERE received_at > now() - interval '1 hour' GROUP BY stream_name) r;
      rejections := jsonb_build_object(
        'status', CASE WHEN rejected >= p_rejected_critical THEN 'critical'
                       WHEN rejected >= p_rejected_warning THEN 'warning'
                       ELSE 'healthy' END,
        'last_hour', rejected,
        'per_stream', coalesce(stream_rejected, '{}'::jsonb),
        'warning_at', p_rejected_warning,
        'critical_at', p_rejected_critical);

      SELECT count(*) FILTER (WHERE staged_at < now() - p_staged_max_age), min(staged_at)
        INTO staged_stale, oldest_staged FROM staging.pending_children;
      staged := jsonb_build_object(
        'status', CASE WHEN staged_stale > 0 THEN 'warning' ELSE 'healthy' END,
        'waiting_longer_than_max_age', staged_stale,
        'oldest_staged_at', oldest_staged,
        'max_age_seconds', round(extract(epoch FROM p_staged_max_age), 3));

      SELECT count(*) INTO in_use FROM pg_stat_activity WHERE backend_type = 'client backend';
      max_conn := current_setting('max_connections')::integer;
      connections := jsonb_build_object(
        'status', CASE WHEN in_use >= max_conn * p_connections_critical THEN 'critical'
                       WHEN in_use >= max_conn * p_connections_warning THEN 'warning'
                       ELSE 'healthy' END,
        'database', current_database(),
        'in_use', in_use,
        'max_connections', max_conn,
        'server_version', current_setting('server_version'));

      statuses := ARRAY[freshness ->> 'status', lag ->> 'status', rejections ->> 'status',
                        staged ->> 'status', connections ->> 'status'];
      RETURN jsonb_build_object(
        'status', CASE WHEN 'critical' = ANY (statuses) THEN 'critical'
                       WHEN 'warning' = ANY (statuses) THEN 'warning'
                       ELSE 'healthy' END,
        'checked_at', now(),
        'checks', jsonb_build_object(
          'freshness', freshness,
          'lag', lag,
          'rejected_events', rejections,
          'staged_children', staged,
          'connections', connections));
    END
    $$;
  `.execute(db);
}

/** Back to 0007's function (the same signature, so its grants stay). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`${sql.raw(HEALTH_CHECK_0007)}`.execute(db);
}
