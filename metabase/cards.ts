/**
 * The Metabase questions over the warehouse views, as native SQL. Each query reads only the views of
 * `analytics` (what analytics_reader is for) and ends without a semicolon, because Metabase wraps
 * native queries in its own row limit.
 */

export type CardDisplay = 'scalar' | 'line' | 'bar' | 'row' | 'pie' | 'table';

export interface CardDefinition {
  /** Unique within the collection: provisioning finds an existing card by it. */
  readonly name: string;
  readonly description: string;
  readonly display: CardDisplay;
  readonly sql: string;
  /** Metabase's `visualization_settings`; the keys name result columns. */
  readonly visualizationSettings: Readonly<Record<string, unknown>>;
}

/** The `visualization_settings` keys that name result columns, so a test can hold them to the SQL. */
export const COLUMN_SETTING_KEYS = ['graph.dimensions', 'graph.metrics', 'pie.dimension', 'pie.metric', 'scalar.field'] as const;

const chart = (dimensions: readonly string[], metrics: readonly string[], extra: Record<string, unknown> = {}) => ({
  'graph.dimensions': dimensions,
  'graph.metrics': metrics,
  ...extra,
});

/** A single number: one aggregate of one view over a window, shown under the column it is named. */
function kpi(name: string, description: string, query: { with?: string; value: string; as: string; from: string; where: string }): CardDefinition {
  return {
    name,
    description,
    display: 'scalar',
    sql: `${query.with ? `${query.with}\n` : ''}SELECT ${query.value} AS ${query.as}\nFROM ${query.from}\nWHERE ${query.where}`,
    visualizationSettings: { 'scalar.field': query.as },
  };
}

/** "Last 24 hours" in whole hours, so the current, still-filling hour counts as one of them. */
const LAST_24_HOURS = `quarter_hour >= date_trunc('hour', now()) - interval '23 hours'`;
const LAST_30_DAYS = `day >= date_trunc('day', now()) - interval '29 days'`;
const LAST_30_DAYS_BY_QUARTER_HOUR = `quarter_hour >= date_trunc('day', now()) - interval '29 days'`;
/**
 * Each location's business day now, looked up once per location rather than once per row: the cards
 * over business days join it (`FROM <view> JOIN today USING (location_code)`).
 */
const TODAY = `WITH today AS MATERIALIZED (SELECT location_code, analytics.current_business_day(location_code) AS current_business_day FROM analytics.locations)`;
const businessDaysOf = (view: string) => `analytics.${view} JOIN today USING (location_code)`;
/** Each location's last 30 business days, today's included. The first bound (a day either side of any zone) lets the rollup's key skip older days. */
const LAST_30_BUSINESS_DAYS = `business_day >= current_date - 31 AND business_day > current_business_day - 30`;
const CURRENT_BUSINESS_DAY = `business_day >= current_date - 3 AND business_day = current_business_day`;
/*
 * Cards that show days or compare locations read each location's business days (location_daily_sales,
 * location_hourly_sales): a Vancouver location's 9 pm sale is on its own day, not the viewer's, and a
 * bar's night up to its cut-off is one day. Rolling windows (the last 24 hours, 30 days of service
 * mix) read analytics.sales_quarter_hours at the coarsest grain they need, filtered on quarter_hour,
 * which reaches the rollup's key; hours are then those of Metabase's report time zone, exact in any.
 * Satisfaction has no location: it is read by the report time zone's days.
 */
const ALL_SALES = `grain = 'all'`;

// Real-time sales: the last 24 hours from analytics.sales_quarter_hours (paid orders, by when they were placed); locations by their business day.

export const revenueLast24Hours = kpi('Revenue, last 24 hours', 'Sum of order totals (subtotal + tax + tip) of paid orders placed in the last 24 hours.', {
  value: 'coalesce(sum(total), 0)',
  as: 'revenue',
  from: 'analytics.sales_quarter_hours',
  where: `${ALL_SALES} AND ${LAST_24_HOURS}`,
});

export const ordersLast24Hours = kpi('Orders, last 24 hours', 'Paid orders placed in the last 24 hours.', {
  value: 'coalesce(sum(order_count), 0)',
  as: 'orders',
  from: 'analytics.sales_quarter_hours',
  where: `${ALL_SALES} AND ${LAST_24_HOURS}`,
});

export const averageOrderValueLast24Hours = kpi('Average order value, last 24 hours', 'Revenue divided by paid orders over the last 24 hours.', {
  value: 'round(sum(total) / nullif(sum(order_count), 0), 2)',
  as: 'avg_order_value',
  from: 'analytics.sales_quarter_hours',
  where: `${ALL_SALES} AND ${LAST_24_HOURS}`,
});

export const tipsLast24Hours = kpi('Tips, last 24 hours', 'Tips on paid orders placed in the last 24 hours.', {
  value: 'coalesce(sum(tip), 0)',
  as: 'tips',
  from: 'analytics.sales_quarter_hours',
  where: `${ALL_SALES} AND ${LAST_24_HOURS}`,
});

export const salesByHour: CardDefinition = {
  name: 'Sales by hour, last 24 hours',
  description: 'Revenue and paid orders per hour, all locations.',
  display: 'line',
  sql: `SELECT date_trunc('hour', quarter_hour) AS hour,
       sum(order_count)                  AS orders,
       sum(total)                        AS revenue
FROM analytics.sales_quarter_hours
WHERE ${ALL_SALES} AND ${LAST_24_HOURS}
GROUP BY 1
ORDER BY 1`,
  visualizationSettings: chart(['hour'], ['revenue', 'orders']),
};

export const salesByLocation: CardDefinition = {
  name: 'Sales by location, current business day',
  description: 'Revenue, paid orders and average order value per location, each over its own business day so far (its zone, from its cut-off).',
  display: 'bar',
  sql: `${TODAY}
SELECT location_code,
       order_count     AS orders,
       total_revenue   AS revenue,
       avg_order_value
FROM ${businessDaysOf('location_daily_sales')}
WHERE ${CURRENT_BUSINESS_DAY}
ORDER BY revenue DESC`,
  visualizationSettings: chart(['location_code'], ['revenue']),
};

export const ingestionFreshness: CardDefinition = {
  name: 'Ingestion freshness',
  description:
    'Per ingesting stream: committed offset, lag behind the source, how long ago it was last read and last committed, since when a realtime stream no session reads has waited (for a worker, or paused or stopped), rejected events. Lag in seconds is 0 when caught up.',
  display: 'table',
  sql: `SELECT stream_name,
       event_offset,
       lag_events,
       lag_seconds,
       seconds_since_last_read,
       seconds_since_last_commit,
       waiting_since,
       last_batch_size,
       rejected_last_hour,
       source_restarts
FROM analytics.ingestion_status
ORDER BY stream_name`,
  visualizationSettings: {},
};

// Performance KPIs: each location's last 30 business days from analytics.location_daily_sales; satisfaction from satisfaction_summary.

export const revenueLast30Days = kpi('Revenue, last 30 days', 'Sum of order totals of paid orders over each location’s last 30 business days, all locations.', {
  value: 'coalesce(sum(total_revenue), 0)',
  as: 'revenue',
  with: TODAY,
  from: businessDaysOf('location_daily_sales'),
  where: LAST_30_BUSINESS_DAYS,
});

export const averageOrderValueLast30Days = kpi('Average order value, last 30 days', 'Revenue divided by paid orders over each location’s last 30 business days (weighted by orders, not an average of daily averages).', {
  value: 'round(sum(total_revenue) / nullif(sum(order_count), 0), 2)',
  as: 'avg_order_value',
  with: TODAY,
  from: businessDaysOf('location_daily_sales'),
  where: LAST_30_BUSINESS_DAYS,
});

// The view rounds each day's rates to 2 decimals; weighting them by feedback_count is exact to about 0.01.
export const satisfactionLast30Days = kpi('Customer satisfaction, last 30 days', 'Share of feedback rated 4 or 5, in percent, over the last 30 days.', {
  value: 'round(sum(satisfaction_rate * feedback_count) / nullif(sum(feedback_count), 0), 2)',
  as: 'satisfaction_rate',
  from: 'analytics.satisfaction_summary',
  where: LAST_30_DAYS,
});

export const netPromoterScoreLast30Days = kpi('Net promoter score, last 30 days', 'Promoters (NPS 9-10) minus detractors (NPS 0-6), in percentage points, over the last 30 days.', {
  value: 'round(sum((promoter_rate - detractor_rate) * feedback_count) / nullif(sum(feedback_count), 0), 1)',
  as: 'net_promoter_score',
  from: 'analytics.satisfaction_summary',
  where: LAST_30_DAYS,
});

export const dailyRevenue: CardDefinition = {
  name: 'Daily revenue and average order value',
  description: 'Revenue and average order value per business day over the last 30, all locations: each location’s sales count on its own business day.',
  display: 'line',
  sql: `${TODAY}
SELECT business_day,
       sum(total_revenue)                                          AS revenue,
       round(sum(total_revenue) / nullif(sum(order_count), 0), 2)  AS avg_order_value
FROM ${businessDaysOf('location_daily_sales')}
WHERE ${LAST_30_BUSINESS_DAYS}
GROUP BY business_day
ORDER BY business_day`,
  visualizationSettings: chart(['business_day'], ['revenue', 'avg_order_value']),
};

export const locationKpis: CardDefinition = {
  name: 'Location KPIs, last 30 days',
  description: 'Per location over its last 30 business days: paid orders, revenue, average order value, tips and average tip, and its time zone.',
  display: 'table',
  sql: `${TODAY}
SELECT location_code,
       time_zone,
       sum(order_count)                                          AS orders,
       sum(total_revenue)                                        AS revenue,
       round(sum(total_revenue) / nullif(sum(order_count), 0), 2) AS avg_order_value,
       sum(total_tips)                                           AS tips,
       round(sum(total_tips) / nullif(sum(order_count), 0), 2)    AS avg_tip
FROM ${businessDaysOf('location_daily_sales')}
WHERE ${LAST_30_BUSINESS_DAYS}
GROUP BY location_code, time_zone
ORDER BY revenue DESC`,
  visualizationSettings: {},
};

export const salesByBusinessDayAndLocation: CardDefinition = {
  name: 'Sales by business day and location',
  description: 'Revenue per location and business day over its last 30: each location’s own calendar, in its zone, from its cut-off (restaurant-stack locations).',
  display: 'line',
  sql: `${TODAY}
SELECT business_day,
       location_code,
       order_count   AS orders,
       total_revenue AS revenue,
       avg_order_value
FROM ${businessDaysOf('location_daily_sales')}
WHERE ${LAST_30_BUSINESS_DAYS}
ORDER BY business_day, location_code`,
  visualizationSettings: chart(['business_day', 'location_code'], ['revenue']),
};

export const dailySatisfaction: CardDefinition = {
  name: 'Daily customer satisfaction',
  description: 'Per day over the last 30 days: satisfied (rating 4-5), promoters and detractors in percent, and the average rating.',
  display: 'line',
  sql: `SELECT day,
       feedback_count,
       avg_rating,
       satisfaction_rate,
       promoter_rate,
       detractor_rate
FROM analytics.satisfaction_summary
WHERE ${LAST_30_DAYS}
ORDER BY day`,
  visualizationSettings: chart(['day'], ['satisfaction_rate', 'promoter_rate', 'detractor_rate']),
};

// Operational insights: peak hours, popular items, service performance.

export const peakHours: CardDefinition = {
  name: 'Peak hours, last 30 days',
  description: 'Paid orders and revenue by hour of the day in each location’s own time, summed over its last 30 business days: every location’s lunch rush lines up.',
  display: 'bar',
  // Straight from the rollup location_hourly_sales sums: through the view, every location's day and hour
  // (~9,000 groups) was summed before the 24 hours were, 40-90 ms on a busy server instead of 10-20.
  sql: `${TODAY}
SELECT hour_of_day,
       sum(order_count)         AS orders,
       sum(total_cents) * 0.01  AS revenue
FROM ${businessDaysOf('location_hourly_rollup')}
WHERE ${LAST_30_BUSINESS_DAYS}
GROUP BY hour_of_day
HAVING sum(order_count) <> 0
ORDER BY hour_of_day`,
  visualizationSettings: chart(['hour_of_day'], ['orders']),
};

export const topMenuItems: CardDefinition = {
  name: 'Top 15 menu items by revenue',
  description: 'Best-selling items of paid orders, all time; times_ordered counts order lines.',
  display: 'row',
  sql: `SELECT item_name,
       category,
       times_ordered,
       total_quantity_sold,
       total_revenue
FROM analytics.menu_performance
ORDER BY total_revenue DESC, item_name
LIMIT 15`,
  visualizationSettings: chart(['item_name'], ['total_revenue']),
};

export const slowMenuItems: CardDefinition = {
  name: 'Slowest-moving menu items',
  description: 'The 15 items of paid orders sold in the smallest quantities, all time: candidates for the menu review.',
  display: 'table',
  sql: `SELECT item_name,
       category,
       total_quantity_sold,
       total_revenue,
       avg_unit_price
FROM analytics.menu_performance
ORDER BY total_quantity_sold, item_name
LIMIT 15`,
  visualizationSettings: {},
};

export const revenueByCategory: CardDefinition = {
  name: 'Revenue by menu category',
  description: 'Item revenue of paid orders per menu category, all time.',
  display: 'pie',
  sql: `SELECT category,
       sum(total_revenue)       AS revenue,
       sum(total_quantity_sold) AS quantity_sold
FROM analytics.menu_performance
GROUP BY category
ORDER BY revenue DESC`,
  visualizationSettings: { 'pie.dimension': 'category', 'pie.metric': 'revenue' },
};

export const servicePerformance: CardDefinition = {
  name: 'Service performance, last 30 days',
  description: 'Dine-in, takeout and delivery over the last 30 days: paid orders, share of orders, revenue, average order value, and tips as a percentage of subtotal.',
  display: 'table',
  sql: `SELECT service_type,
       sum(order_count)                                                  AS orders,
       round(100.0 * sum(order_count) / sum(sum(order_count)) OVER (), 2) AS share_of_orders,
       sum(total)                                                        AS revenue,
       round(sum(total) / nullif(sum(order_count), 0), 2)                 AS avg_order_value,
       round(100.0 * sum(tip) / nullif(sum(subtotal), 0), 2)              AS tip_percent
FROM analytics.sales_quarter_hours
WHERE grain = 'service_type' AND ${LAST_30_DAYS_BY_QUARTER_HOUR}
GROUP BY service_type
ORDER BY orders DESC`,
  visualizationSettings: {},
};

export const serviceMixByHour: CardDefinition = {
  name: 'Orders by service type, last 24 hours',
  description: 'Paid orders per hour, stacked by dine-in, takeout and delivery.',
  display: 'bar',
  sql: `SELECT date_trunc('hour', quarter_hour) AS hour,
       service_type,
       sum(order_count)                  AS orders
FROM analytics.sales_quarter_hours
WHERE grain = 'service_type' AND ${LAST_24_HOURS}
GROUP BY 1, 2
ORDER BY 1, 2`,
  visualizationSettings: chart(['hour', 'service_type'], ['orders'], { 'stackable.stack_type': 'stacked' }),
};
