import type pg from 'pg';
import { expect } from 'vitest';

/** Where an order `o` at its location `l` falls in that location's own time (analytics.locations). */
const BUSINESS_DAY = `((o.order_ts AT TIME ZONE l.time_zone) - l.business_day_start::interval)::date`;
const LOCAL_HOUR = `extract(hour FROM o.order_ts AT TIME ZONE l.time_zone)::smallint`;

/**
 * The four reporting views as they were before the rollups (migrations/0006), the dashboards'
 * hourly_sales_totals, and each location's business days and local hours: the same aggregates over
 * the fact tables, which the rollup-backed views must return exactly.
 */
const OVER_THE_FACTS = {
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

/** Rows as text, in one order, so numeric scale and timestamps compare exactly as a client sees them. */
async function rowsOf(client: pg.ClientBase, sql: string): Promise<string[]> {
  const { rows } = await client.query<{ row: string }>(`SELECT t::text AS row FROM (${sql}) AS t ORDER BY 1`);
  return rows.map((row) => row.row);
}

/** Every rollup-backed view returns exactly what the same aggregate over the facts returns, in each zone. */
export async function expectViewsMatchFacts(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    for (const zone of SESSION_TIME_ZONES) {
      await client.query(`SET TIME ZONE '${zone}'`);
      for (const [view, facts] of Object.entries(OVER_THE_FACTS)) {
        const fromView = await rowsOf(client, `SELECT * FROM analytics.${view}`);
        expect(fromView.length, `${view} in ${zone} has rows`).toBeGreaterThan(0);
        expect(fromView, `${view} in ${zone}`).toEqual(await rowsOf(client, facts));
      }
    }
    const { rows } = await client.query('SELECT rollup, rollup_key FROM analytics.rollup_discrepancies(\'-infinity\')');
    expect(rows).toEqual([]);
  } finally {
    await client.query('RESET TIME ZONE');
    client.release();
  }
}

/** The rollups summed over slots (the menu by month, folded or not), for comparing two states of them. */
export async function rollupTotals(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ row: string }>(`
    SELECT 'sales ' || t::text AS row FROM (SELECT grain, quarter_hour, location_code, service_type, sum(order_count), sum(subtotal_cents), sum(tax_cents), sum(tip_cents), sum(total_cents)
      FROM analytics.sales_quarter_hour_rollup GROUP BY 1, 2, 3, 4 HAVING sum(order_count) <> 0) t
    UNION ALL
    SELECT 'location ' || t::text FROM (SELECT business_day, location_code, hour_of_day, sum(order_count), sum(subtotal_cents), sum(tax_cents), sum(tip_cents), sum(total_cents)
      FROM analytics.location_hourly_rollup GROUP BY 1, 2, 3 HAVING sum(order_count) <> 0) t
    UNION ALL
    SELECT 'menu ' || t::text FROM (SELECT date_trunc('month', day)::date, category, item_name, sum(times_ordered), sum(quantity), sum(revenue_cents), sum(unit_price_cents)
      FROM (SELECT day, category, item_name, times_ordered, quantity, revenue_cents, unit_price_cents FROM analytics.menu_daily_rollup
            UNION ALL SELECT month, category, item_name, times_ordered, quantity, revenue_cents, unit_price_cents FROM analytics.menu_monthly_rollup) AS menu
      GROUP BY 1, 2, 3 HAVING sum(times_ordered) <> 0) t
    UNION ALL
    SELECT 'feedback ' || t::text FROM (SELECT quarter_hour, sum(feedback_count), sum(rating_sum), sum(nps_sum), sum(satisfied_count), sum(promoter_count), sum(detractor_count)
      FROM analytics.feedback_quarter_hour_rollup GROUP BY 1 HAVING sum(feedback_count) <> 0) t
    ORDER BY 1`);
  return rows.map((row) => row.row);
}
