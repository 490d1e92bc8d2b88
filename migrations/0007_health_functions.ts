import { sql, type Kysely } from 'kysely';

/*
 * health_check() and validate_data_consistency() read staging, which analytics_reader may not see:
 * they run as their owner (SECURITY DEFINER, with a fixed search_path) and EXECUTE is granted to
 * the warehouse roles only (warehouse/grants.ts), so Metabase gets the verdict without the rows.
 */
/** The health_check() function as this migration defines it (0013 returns to it on the way down). */
export const HEALTH_CHECK_0007 = `
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
      SELECT max(last_event_ts), max(last_batch_at) INTO newest_event, last_batch FROM raw_data.stream_checkpoints;
      event_age := greatest(now() - newest_event, interval '0');
      freshness := jsonb_build_object(
        'status', CASE WHEN newest_event IS NULL OR event_age >= p_stale_critical THEN 'critical'
                       WHEN event_age >= p_stale_warning THEN 'warning'
                       ELSE 'healthy' END,
        'newest_event_ts', newest_event,
        'last_batch_at', last_batch,
        'age_seconds', round(extract(epoch FROM event_age), 3),
        'warning_after_seconds', round(extract(epoch FROM p_stale_warning), 3),
        'critical_after_seconds', round(extract(epoch FROM p_stale_critical), 3));
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

      SELECT count(*) INTO rejected FROM raw_data.events_rejected WHERE received_at > now() - interval '1 hour';
      rejections := jsonb_build_object(
        'status', CASE WHEN rejected >= p_rejected_critical THEN 'critical'
                       WHEN rejected >= p_rejected_warning THEN 'warning'
                       ELSE 'healthy' END,
        'last_hour', rejected,
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
`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION analytics.get_latest_offset(p_stream_name text DEFAULT 'restaurant_realtime_stream')
    RETURNS bigint
    LANGUAGE sql STABLE AS $$
      SELECT coalesce((SELECT event_offset FROM raw_data.stream_checkpoints WHERE stream_name = p_stream_name), 0)
    $$;
    COMMENT ON FUNCTION analytics.get_latest_offset(text) IS 'Committed offset of a stream (0 before its first batch), read from its checkpoint';

    CREATE FUNCTION analytics.calculate_order_metrics(p_order_id uuid)
    RETURNS TABLE (
      order_id            uuid,
      item_count          integer,
      total_items         integer,
      calculated_subtotal numeric,
      recorded_subtotal   numeric,
      total               numeric,
      paid_amount         numeric
    )
    LANGUAGE sql STABLE AS $$
      SELECT o.order_id,
             items.line_count::integer,
             coalesce(items.quantity, 0)::integer,
             coalesce(items.subtotal, 0.00),
             o.subtotal,
             o.total,
             paid.amount
      FROM analytics.orders o
      CROSS JOIN LATERAL (
        SELECT count(*) AS line_count, sum(i.qty) AS quantity, sum(i.extended_price) AS subtotal
        FROM analytics.order_items i WHERE i.order_id = o.order_id
      ) AS items
      CROSS JOIN LATERAL (
        SELECT sum(p.amount) AS amount FROM analytics.payments p WHERE p.order_id = o.order_id
      ) AS paid
      WHERE o.order_id = p_order_id
    $$;
    COMMENT ON FUNCTION analytics.calculate_order_metrics(uuid) IS 'Order-level metrics from its items and payments next to what the order records; no row for an unknown order';

    CREATE FUNCTION analytics.validate_data_consistency(
      p_grace       interval DEFAULT interval '5 minutes',
      p_sample_size integer  DEFAULT 5
    )
    RETURNS TABLE (check_name text, status text, details text, issue_count bigint, sample_ids text[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
      WITH checks (position, check_name, description) AS (
        VALUES
          (1,  'orders_without_items',          'orders without items'),
          (2,  'payment_amount_mismatches',     'orders whose total differs from the sum of their payments'),
          (3,  'subtotal_mismatches',           'paid orders whose subtotal differs from the sum of their items'),
          (4,  'extended_price_mismatches',     'order items whose extended_price is not unit_price x qty'),
          (5,  'negative_money',                'orders with a negative subtotal, tax, tip or total'),
          (6,  'orphan_order_items',            'order items whose order is missing'),
          (7,  'orphan_payments',               'payments whose order is missing'),
          (8,  'orphan_feedback',               'feedback whose order is missing'),
          (9,  'stale_staged_children',         'staged items, payments or feedback still waiting for their order'),
          (10, 'duplicate_event_offsets',       'source positions (stream:epoch:offset) stored under more than one event_id'),
          (11, 'orders_with_multiple_payments', 'orders paid more than once')
      ),
      settled_orders AS (
        SELECT * FROM analytics.orders WHERE created_at < now() - p_grace
      ),
      findings (check_name, record_id) AS (
        SELECT 'orders_without_items', o.order_id::text
        FROM settled_orders o
        WHERE NOT EXISTS (SELECT 1 FROM analytics.order_items i WHERE i.order_id = o.order_id)
        UNION ALL
        SELECT 'payment_amount_mismatches', o.order_id::text
        FROM settled_orders o
        JOIN (SELECT order_id, sum(amount) AS amount FROM analytics.payments GROUP BY order_id) paid USING (order_id)
        WHERE o.total IS DISTINCT FROM paid.amount
        UNION ALL
        SELECT 'subtotal_mismatches', o.order_id::text
        FROM settled_orders o
        LEFT JOIN (SELECT order_id, sum(extended_price) AS subtotal FROM analytics.order_items GROUP BY order_id) items USING (order_id)
        WHERE o.subtotal IS NOT NULL AND o.subtotal IS DISTINCT FROM items.subtotal
        UNION ALL
        SELECT 'extended_price_mismatches', i.order_item_id::text
        FROM analytics.order_items i
        WHERE i.extended_price <> round(i.unit_price * i.qty, 2)
        UNION ALL
        SELECT 'negative_money', o.order_id::text
        FROM analytics.orders o
        WHERE o.subtotal < 0 OR o.tax < 0 OR o.tip < 0 OR o.total < 0
        UNION ALL
        SELECT 'orphan_order_items', i.order_item_id::text
        FROM analytics.order_items i
        WHERE NOT EXISTS (SELECT 1 FROM analytics.orders o WHERE o.order_id = i.order_id)
        UNION ALL
        SELECT 'orphan_payments', p.payment_id::text
        FROM analytics.payments p
        WHERE NOT EXISTS (SELECT 1 FROM analytics.orders o WHERE o.order_id = p.order_id)
        UNION ALL
        SELECT 'orphan_feedback', f.feedback_id::text
        FROM analytics.feedback f
        WHERE f.order_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM analytics.orders o WHERE o.order_id = f.order_id)
        UNION ALL
        SELECT 'stale_staged_children', s.event_id::text
        FROM staging.pending_children s
        WHERE s.staged_at < now() - p_grace
        UNION ALL
        SELECT 'duplicate_event_offsets', format('%s:%s:%s', e.stream_name, e.source_epoch, e.event_offset)
        FROM raw_data.events_raw e
        GROUP BY e.stream_name, e.source_epoch, e.event_offset
        HAVING count(*) > 1
        UNION ALL
        SELECT 'orders_with_multiple_payments', p.order_id::text
        FROM analytics.payments p
        GROUP BY p.order_id
        HAVING count(*) > 1
      )
      SELECT c.check_name,
             CASE WHEN count(f.record_id) = 0 THEN 'OK' ELSE 'WARNING' END,
             format('Found %s %s', count(f.record_id), c.description),
             count(f.record_id),
             coalesce((array_agg(f.record_id ORDER BY f.record_id COLLATE "C") FILTER (WHERE f.record_id IS NOT NULL))[1:p_sample_size], '{}')
      FROM checks c
      LEFT JOIN findings f USING (check_name)
      GROUP BY c.position, c.check_name, c.description
      ORDER BY c.position
    $$;
    COMMENT ON FUNCTION analytics.validate_data_consistency(interval, integer) IS 'Data quality checks: one row per check with status OK/WARNING, count and sample ids. Orders and staged children younger than p_grace are still in flight and not judged.';

    ${sql.raw(HEALTH_CHECK_0007)}
    COMMENT ON FUNCTION analytics.health_check(interval, interval, bigint, bigint, bigint, bigint, interval, numeric, numeric) IS
      'Ingestion health: freshness of the newest ingested event, lag behind the source, rejected events in the last hour, children stuck in staging, connections. status = the worst check (a lag of unknown size does not count).';

    REVOKE EXECUTE ON FUNCTION analytics.validate_data_consistency(interval, integer) FROM PUBLIC;
    REVOKE EXECUTE ON FUNCTION analytics.health_check(interval, interval, bigint, bigint, bigint, bigint, interval, numeric, numeric) FROM PUBLIC;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP FUNCTION analytics.health_check(interval, interval, bigint, bigint, bigint, bigint, interval, numeric, numeric);
    DROP FUNCTION analytics.validate_data_consistency(interval, integer);
    DROP FUNCTION analytics.calculate_order_metrics(uuid);
    DROP FUNCTION analytics.get_latest_offset(text);
  `.execute(db);
}
