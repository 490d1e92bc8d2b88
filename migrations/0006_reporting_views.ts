import { sql, type Kysely } from 'kysely';

/** 0006's ingestion_status, restated by later migrations' down. */
export const INGESTION_STATUS_0006 = `
    CREATE VIEW analytics.ingestion_status AS
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
           c.updated_at
    FROM raw_data.stream_checkpoints c
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
    COMMENT ON VIEW analytics.ingestion_status IS 'Per ingesting stream: committed offset, lag behind the source head in events, and lag in seconds (0 when caught up with the known head, otherwise the age of the newest stored event), last batch, rejected events, source restarts.';
`;

/*
 * The old stack's four views keep their names, columns, grouping, filters and ordering, so existing
 * Metabase questions keep working; "day" and "hour" stay date_trunc in the session time zone.
 * Changed on purpose: averages and rates are rounded to 2 decimals.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE VIEW analytics.hourly_sales AS
    SELECT date_trunc('hour', order_ts) AS hour,
           location_code,
           service_type,
           count(*)                      AS order_count,
           sum(subtotal)                 AS subtotal,
           sum(tax)                      AS tax,
           sum(tip)                      AS tip,
           sum(total)                    AS total,
           round(avg(total), 2)          AS avg_order_value
    FROM analytics.orders
    WHERE total IS NOT NULL
    GROUP BY date_trunc('hour', order_ts), location_code, service_type
    ORDER BY hour DESC;
    COMMENT ON VIEW analytics.hourly_sales IS 'Hourly sales by location and service type. Only paid orders count (total is set by payment_captured): an order appears, in the hour it was placed, once its payment has landed.';

    CREATE VIEW analytics.daily_sales AS
    SELECT date_trunc('day', order_ts) AS day,
           location_code,
           count(*)             AS order_count,
           sum(total)           AS total_revenue,
           round(avg(total), 2) AS avg_order_value,
           sum(tip)             AS total_tips,
           round(avg(tip), 2)   AS avg_tip
    FROM analytics.orders
    WHERE total IS NOT NULL
    GROUP BY date_trunc('day', order_ts), location_code
    ORDER BY day DESC, location_code;
    COMMENT ON VIEW analytics.daily_sales IS 'Daily sales by location. Only paid orders count (total is set by payment_captured); unpaid orders are left out of counts and averages alike.';

    CREATE VIEW analytics.menu_performance AS
    SELECT oi.category,
           oi.item_name,
           count(*)                         AS times_ordered,
           sum(oi.qty)                      AS total_quantity_sold,
           sum(oi.extended_price)           AS total_revenue,
           round(avg(oi.unit_price), 2)     AS avg_unit_price,
           round(avg(oi.extended_price), 2) AS avg_extended_price
    FROM analytics.order_items oi
    JOIN analytics.orders o ON oi.order_id = o.order_id
    WHERE o.total IS NOT NULL
    GROUP BY oi.category, oi.item_name
    ORDER BY total_revenue DESC;
    COMMENT ON VIEW analytics.menu_performance IS 'Menu item performance; times_ordered counts order lines. Only items of paid orders count.';

    CREATE VIEW analytics.satisfaction_summary AS
    SELECT date_trunc('day', created_ts) AS day,
           count(*)                                                         AS feedback_count,
           round(avg(rating::numeric), 2)                                   AS avg_rating,
           round(avg(nps::numeric), 2)                                      AS avg_nps,
           round(count(*) FILTER (WHERE rating >= 4) * 100.0 / count(*), 2) AS satisfaction_rate,
           round(count(*) FILTER (WHERE nps >= 9) * 100.0 / count(*), 2)    AS promoter_rate,
           round(count(*) FILTER (WHERE nps <= 6) * 100.0 / count(*), 2)    AS detractor_rate
    FROM analytics.feedback
    WHERE rating IS NOT NULL AND nps IS NOT NULL
    GROUP BY date_trunc('day', created_ts)
    ORDER BY day DESC;
    COMMENT ON VIEW analytics.satisfaction_summary IS 'Daily customer satisfaction; rates in percent (0-100): satisfied = rating >= 4, promoter = nps >= 9, detractor = nps <= 6. Feedback counts whether or not its order was paid; feedback missing a rating or an nps is left out.';

    ${sql.raw(INGESTION_STATUS_0006)}
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP VIEW analytics.ingestion_status;
    DROP VIEW analytics.satisfaction_summary;
    DROP VIEW analytics.menu_performance;
    DROP VIEW analytics.daily_sales;
    DROP VIEW analytics.hourly_sales;
  `.execute(db);
}
