import type pg from 'pg';
import { expect } from 'vitest';
import { compareViewsWithFacts } from '../support/view-equivalence.js';

/** Every rollup-backed view returns exactly what the same aggregate over the facts returns, in each zone. */
export async function expectViewsMatchFacts(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    for (const comparison of await compareViewsWithFacts(client)) {
      expect(comparison.viewRows, `${comparison.view} in ${comparison.zone} has rows`).toBeGreaterThan(0);
      expect(comparison, `${comparison.view} in ${comparison.zone}`).toMatchObject({ differing: 0, sample: null, factRows: comparison.viewRows });
    }
    const { rows } = await client.query('SELECT rollup, rollup_key FROM analytics.rollup_discrepancies(\'-infinity\')');
    expect(rows).toEqual([]);
  } finally {
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
