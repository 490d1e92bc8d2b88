import type pg from 'pg';

/** Where an order `o` at its location `l` falls in that location's own time (analytics.locations). */
const BUSINESS_DAY = `((o.order_ts AT TIME ZONE l.time_zone) - l.business_day_start::interval)::date`;
const LOCAL_HOUR = `extract(hour FROM o.order_ts AT TIME ZONE l.time_zone)::smallint`;

/**
 * The four reporting views as they were before the rollups (migrations/0006), the dashboards'
 * hourly_sales_totals, and each location's business days and local hours: the same aggregates over
 * the fact tables, which the rollup-backed views must return exactly.
 */
export const OVER_THE_FACTS = {
  hourly_sales: `
    SELECT date_trunc('hour', order_ts) AS hour, location_code, service_type, count(*) AS order_count,
           sum(subtotal) AS subtotal, sum(tax) AS tax, sum(tip) AS tip, sum(total) AS total, round(avg(total), 2) AS avg_order_value
    FROM analytics.orders WHERE total IS NOT NULL
    GROUP BY date_trunc('hour', order_ts), location_code, service_type`,
  hourly_sales_totals: `
    SELECT (ARRAY['location_service', 'location', 'service_type', 'all'])[1 + GROUPING(location_code, service_type)] AS grain,
           date_trunc('hour', order_ts) AS hour, location_code, service_type, count(*) AS order_count,
           sum(subtotal) AS subtotal, sum(tax) AS tax, sum(tip) AS tip, sum(total) AS total
    FROM analytics.orders WHERE total IS NOT NULL
    GROUP BY GROUPING SETS ((date_trunc('hour', order_ts), location_code, service_type), (date_trunc('hour', order_ts), location_code),
                            (date_trunc('hour', order_ts), service_type), (date_trunc('hour', order_ts)))`,
  daily_sales: `
    SELECT date_trunc('day', order_ts) AS day, location_code, count(*) AS order_count, sum(total) AS total_revenue,
           round(avg(total), 2) AS avg_order_value, sum(tip) AS total_tips, round(avg(tip), 2) AS avg_tip
    FROM analytics.orders WHERE total IS NOT NULL
    GROUP BY date_trunc('day', order_ts), location_code`,
  menu_performance: `
    SELECT oi.category, oi.item_name, count(*) AS times_ordered, sum(oi.qty) AS total_quantity_sold, sum(oi.extended_price) AS total_revenue,
           round(avg(oi.unit_price), 2) AS avg_unit_price, round(avg(oi.extended_price), 2) AS avg_extended_price
    FROM analytics.order_items oi JOIN analytics.orders o ON oi.order_id = o.order_id
    WHERE o.total IS NOT NULL
    GROUP BY oi.category, oi.item_name`,
  satisfaction_summary: `
    SELECT date_trunc('day', created_ts) AS day, count(*) AS feedback_count, round(avg(rating::numeric), 2) AS avg_rating,
           round(avg(nps::numeric), 2) AS avg_nps,
           round(count(*) FILTER (WHERE rating >= 4) * 100.0 / count(*), 2) AS satisfaction_rate,
           round(count(*) FILTER (WHERE nps >= 9) * 100.0 / count(*), 2) AS promoter_rate,
           round(count(*) FILTER (WHERE nps <= 6) * 100.0 / count(*), 2) AS detractor_rate
    FROM analytics.feedback WHERE rating IS NOT NULL AND nps IS NOT NULL
    GROUP BY date_trunc('day', created_ts)`,
  location_daily_sales: `
    SELECT ${BUSINESS_DAY} AS business_day, o.location_code, l.time_zone, count(*) AS order_count, sum(o.total) AS total_revenue,
           round(avg(o.total), 2) AS avg_order_value, sum(o.tip) AS total_tips, round(avg(o.tip), 2) AS avg_tip
    FROM analytics.orders o JOIN analytics.locations l USING (location_code) WHERE o.total IS NOT NULL
    GROUP BY 1, 2, 3`,
  location_hourly_sales: `
    SELECT ${BUSINESS_DAY} AS business_day, o.location_code, l.time_zone, ${LOCAL_HOUR} AS hour_of_day, count(*) AS order_count,
           sum(o.total) AS total_revenue, round(avg(o.total), 2) AS avg_order_value, sum(o.tip) AS total_tips, round(avg(o.tip), 2) AS avg_tip
    FROM analytics.orders o JOIN analytics.locations l USING (location_code) WHERE o.total IS NOT NULL
    GROUP BY 1, 2, 3, 4`,
} as const;

/**
 * UTC, whole-hour Toronto, and the zones whose offsets are not whole hours: Newfoundland (−3:30,
 * −2:30 in summer), India (+5:30), Nepal (+5:45), and South Australia (+9:30, +10:30 in summer).
 */
export const SESSION_TIME_ZONES = ['UTC', 'America/Toronto', 'America/St_Johns', 'Asia/Kolkata', 'Asia/Kathmandu', 'Australia/Adelaide'] as const;

export interface ViewMismatch {
  readonly zone: string;
  readonly view: string;
  /** Rows of the view, and of the same aggregate over the facts. */
  readonly viewRows: number;
  readonly factRows: number;
  /** Rows (as text) on one side only, each side counted with its duplicates. */
  readonly differing: number;
  readonly sample: string | null;
}

/**
 * Compares every rollup-backed view with the same aggregate over the facts in each session zone, row by
 * row as text (so numeric scale and timestamps count as a client sees them), inside PostgreSQL.
 * Returns what was compared; a view that differs anywhere has `differing` > 0.
 */
export async function compareViewsWithFacts(client: pg.ClientBase, zones: readonly string[] = SESSION_TIME_ZONES): Promise<ViewMismatch[]> {
  const compared: ViewMismatch[] = [];
  try {
    for (const zone of zones) {
      await client.query('SELECT set_config($1, $2, false)', ['TimeZone', zone]);
      for (const [view, facts] of Object.entries(OVER_THE_FACTS)) {
        const { rows } = await client.query<{ view_rows: string; fact_rows: string; differing: string; sample: string | null }>(`
          WITH v AS (SELECT t::text AS row FROM analytics.${view} AS t), f AS (SELECT t::text AS row FROM (${facts}) AS t),
               only_v AS (SELECT row FROM v EXCEPT ALL SELECT row FROM f), only_f AS (SELECT row FROM f EXCEPT ALL SELECT row FROM v)
          SELECT (SELECT count(*) FROM v) AS view_rows, (SELECT count(*) FROM f) AS fact_rows,
                 (SELECT count(*) FROM only_v) + (SELECT count(*) FROM only_f) AS differing,
                 coalesce((SELECT 'view only: ' || min(row) FROM only_v), (SELECT 'facts only: ' || min(row) FROM only_f)) AS sample`);
        const row = rows[0]!;
        compared.push({ zone, view, viewRows: Number(row.view_rows), factRows: Number(row.fact_rows), differing: Number(row.differing), sample: row.sample });
      }
    }
  } finally {
    await client.query('RESET TimeZone');
  }
  return compared;
}
