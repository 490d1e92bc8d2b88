import { sql, type Kysely } from 'kysely';
import {
  addFeedback,
  addMenu,
  addSales,
  ALL,
  CHANGED_ORDERS,
  cents,
  feedbackOf,
  installRollups,
  ITEM_COLUMNS,
  ITEMS_OF_CHANGED_ORDERS,
  menuOf,
  ORDER_COLUMNS,
  salesAtEveryGrain,
  utcDay,
  type TimeBuckets,
} from './0010_rollups.js';

/*
 * Restaurant time in the rollups (after 0010's design: statement-level triggers, writer slots).
 *
 * Exact in every session time zone: sales and feedback are kept by UTC quarter hour. Every zone in use
 * today has an offset that is a multiple of 15 minutes (Kolkata +5:30, Kathmandu +5:45, St. John's
 * −3:30), DST changes included, so a local hour or day in any of them is a whole number of quarter
 * hours, and the views bucket them with date_trunc in the session's zone exactly as the seed views
 * bucketed the facts. UTC hours were exact only in whole-hour zones.
 *
 * Each location's own business day: location_hourly_rollup keeps paid orders by the location's
 * business day (in its zone, from its cut-off) and local hour of day, read by location_daily_sales and
 * location_hourly_sales. Triggers compute both from analytics.locations; analytics.set_location changes
 * a location and re-derives its rows in the same transaction, holding every writer slot: writers in
 * flight commit first, later ones wait, and every trigger claims its slot before it reads a location.
 *
 * Instant over years: the menu's days of closed months are folded into one row per month and item
 * (menu_monthly_rollup), and the write slots of closed days into one, by the maintenance schedule
 * (fold_rollup_slots, fold_menu_month): an all-time menu card reads months × items, not days × items ×
 * slots. A rebuild is a correction, not a replacement: in one statement per rollup it reads the facts
 * and the rollup in the same snapshot and adds the difference to its own slot. Writers that commit
 * later add their own exact changes on top, so it needs no lock beyond its slot and never stops
 * ingestion; a month is one transaction.
 */

/** A sales or feedback rollup row's quarter hour: 15-minute buckets aligned to UTC hours. */
const quarterHour = (instant: string) => `date_bin('15 minutes', ${instant}, timestamptz '2000-01-01 00:00:00+00')`;
const SALES_BY_QUARTER_HOUR: TimeBuckets = { table: 'analytics.sales_quarter_hour_rollup', column: 'quarter_hour', of: quarterHour };
const FEEDBACK_BY_QUARTER_HOUR: TimeBuckets = { table: 'analytics.feedback_quarter_hour_rollup', column: 'quarter_hour', of: quarterHour };
/** The first day of the UTC month of a date or an instant. */
const utcMonth = (instant: string) => `date_trunc('month', ${instant} AT TIME ZONE 'UTC')::date`;

/** A rollup table: its key (without the slot) and the sums it keeps. */
interface Rollup {
  readonly table: string;
  readonly keys: readonly string[];
  readonly values: readonly string[];
  /** Whether writers keep a row per slot (every rollup but the folded menu months). */
  readonly slotted: boolean;
}

const SALES_SUMS = ['order_count', 'subtotal_cents', 'tax_cents', 'tip_cents', 'total_cents'];
const MENU_SUMS = ['times_ordered', 'quantity', 'revenue_cents', 'unit_price_cents'];
const FEEDBACK_SUMS = ['feedback_count', 'rating_sum', 'nps_sum', 'satisfied_count', 'promoter_count', 'detractor_count'];

const SALES: Rollup = { table: SALES_BY_QUARTER_HOUR.table, keys: ['grain', 'quarter_hour', 'location_code', 'service_type'], values: SALES_SUMS, slotted: true };
const LOCATION_SALES: Rollup = { table: 'analytics.location_hourly_rollup', keys: ['business_day', 'location_code', 'hour_of_day'], values: SALES_SUMS, slotted: true };
const FEEDBACK: Rollup = { table: FEEDBACK_BY_QUARTER_HOUR.table, keys: ['quarter_hour'], values: FEEDBACK_SUMS, slotted: true };
const MENU_DAYS: Rollup = { table: 'analytics.menu_daily_rollup', keys: ['day', 'category', 'item_name'], values: MENU_SUMS, slotted: true };
const MENU_MONTHS: Rollup = { table: 'analytics.menu_monthly_rollup', keys: ['month', 'category', 'item_name'], values: MENU_SUMS, slotted: false };
/** The menu as the consistency check compares it: by day, or by month where the month is closed. */
const MENU_PERIODS: Rollup = { table: '', keys: ['rollup', 'period', 'category', 'item_name'], values: MENU_SUMS, slotted: false };
/** The rollup and period (as text) a menu row of `day` is compared in, given `closed.before`. */
const MENU_PERIOD = (day: string) => `
  CASE WHEN ${day} < closed.before THEN 'menu_monthly_rollup' ELSE 'menu_daily_rollup' END AS rollup,
  CASE WHEN ${day} < closed.before THEN to_char(${day}, 'YYYY-MM') ELSE ${day}::text END AS period`;

/** The sales grains a range over every grain names, so it reaches the key (which the grain leads). */
const EVERY_GRAIN = `grain IN ('location_service', 'location', 'service_type', 'all')`;

const list = (names: readonly string[], prefix = '') => names.map((name) => `${prefix}${name}`).join(', ');
const increments = (rollup: Rollup) => rollup.values.map((value) => `${value} = r.${value} + EXCLUDED.${value}`).join(', ');
const conflictKey = (rollup: Rollup) => list(rollup.slotted ? [...rollup.keys, 'slot'] : rollup.keys);

/** The rollup's rows where `where` holds, one per slot (what the views sum). */
const rowsOf = (rollup: Rollup, where: string) => `SELECT ${list(rollup.keys)}, ${list(rollup.values)} FROM ${rollup.table} WHERE ${where}`;

/**
 * Key by key, what `facts` (keys, values) has beyond the rollup rows `kept` (keys, values; any number
 * per key), and only the keys where they differ: one aggregation over both sides, which costs less
 * than summing the slots and joining the facts to them.
 */
const difference = (rollup: Rollup, facts: string, kept: string) => `
  SELECT ${list(rollup.keys)}, ${list(rollup.values.map((value) => `sum(${value}) AS ${value}`))}
  FROM (SELECT * FROM (${facts}) AS f (${list(rollup.keys)}, ${list(rollup.values)})
        UNION ALL
        SELECT ${list(rollup.keys)}, ${list(rollup.values.map((value) => `-${value}`))} FROM (${kept}) AS k (${list(rollup.keys)}, ${list(rollup.values)})) AS both_sides
  GROUP BY ${list(rollup.keys)}
  HAVING (${list(rollup.values.map((value) => `sum(${value})`))}) <> (${list(rollup.values.map(() => '0'))})`;

/**
 * Adds to the transaction's slot (or to the unslotted row) what `facts` has beyond `kept`, key by key.
 * No one else writes the transaction's slot; rows shared by every writer are locked in key order.
 */
const addDifference = (rollup: Rollup, facts: string, kept: string) => `
  INSERT INTO ${rollup.table} AS r (${rollup.slotted ? `${list(rollup.keys)}, slot` : list(rollup.keys)}, ${list(rollup.values)})
  SELECT ${list(rollup.keys)}, ${rollup.slotted ? '(SELECT analytics.rollup_slot()), ' : ''}${list(rollup.values)}
  FROM (${difference(rollup, facts, kept)}) AS d
  ORDER BY ${list(rollup.keys)}
  ON CONFLICT (${conflictKey(rollup)}) DO UPDATE SET ${increments(rollup)}`;

/** A key as text in a discrepancy report: instants in UTC. */
const keyText = (key: string) => (key === 'quarter_hour' ? `to_char(${key} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"')` : `${key}::text`);
const discrepancies = (rollup: Rollup, facts: string, kept: string, label = `'${rollup.table.replace('analytics.', '')}'`) =>
  `SELECT ${label}, concat_ws('/', ${list(rollup.keys.map(keyText))}) FROM (${difference(rollup, facts, kept)}) AS d`;

/** Moves the rows of every slot but 0 where `where` holds into slot 0 (holding every slot: no writer meanwhile). */
const foldSlots = (rollup: Rollup, where: string) => `
  WITH moved AS (DELETE FROM ${rollup.table} WHERE slot <> 0 AND ${where} RETURNING ${list(rollup.keys)}, ${list(rollup.values)})
  INSERT INTO ${rollup.table} AS r (${list(rollup.keys)}, slot, ${list(rollup.values)})
  SELECT ${list(rollup.keys)}, 0, ${rollup.values.map((value) => `sum(${value})`).join(', ')} FROM moved
  GROUP BY ${list(rollup.keys)}
  ON CONFLICT (${conflictKey(rollup)}) DO UPDATE SET ${increments(rollup)}`;

/** The business day and local hour of an order `c` at its location `l`. */
const businessDay = (instant: string) => `analytics.business_day_of(${instant}, l.time_zone, l.business_day_start)`;
const localHour = (instant: string) => `extract(hour FROM ${instant} AT TIME ZONE l.time_zone)::smallint`;

/** Sums signed order changes `c(sign, order_ts, location_code, service_type, subtotal, tax, tip, total)` of paid orders by location, business day and local hour. */
const locationSalesOf = (changes: string, slot: string) => `
  SELECT ${businessDay('c.order_ts')}, c.location_code, ${localHour('c.order_ts')}, ${slot},
         sum(c.sign), ${cents('sum(c.sign * c.subtotal)')}, ${cents('sum(c.sign * c.tax)')}, ${cents('sum(c.sign * c.tip)')}, ${cents('sum(c.sign * c.total)')}
  FROM (${changes}) AS c JOIN analytics.locations l USING (location_code)
  WHERE c.total IS NOT NULL
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3`;

const addLocationSales = (changes: string) => `
  INSERT INTO ${LOCATION_SALES.table} AS r (${list(LOCATION_SALES.keys)}, slot, ${list(LOCATION_SALES.values)})
  ${locationSalesOf(changes, '(SELECT analytics.rollup_slot())')}
  ON CONFLICT (${conflictKey(LOCATION_SALES)}) DO UPDATE SET ${increments(LOCATION_SALES)}`;

/** Paid order changes into both sales rollups. The slot comes first: see the header. */
const addAllSales = (changes: string) => `
    IF EXISTS (SELECT 1 FROM (${changes}) AS c WHERE c.total IS NOT NULL) THEN
      PERFORM analytics.rollup_slot();
      ${addSales(changes, SALES_BY_QUARTER_HOUR)};
      ${addLocationSales(changes)};
    END IF;`;

/**
 * Locations in `rows` the warehouse has not seen get their row. The slot is claimed first, so a writer
 * never holds a new location's row while set_location (holding every slot) waits for it.
 */
const addUnseenLocations = (rows: string) => `
    unseen := ARRAY(SELECT DISTINCT n.location_code FROM ${rows} n WHERE NOT EXISTS (SELECT 1 FROM analytics.locations l WHERE l.location_code = n.location_code));
    IF cardinality(unseen) > 0 THEN
      PERFORM analytics.rollup_slot();
      PERFORM analytics.add_locations(unseen);
    END IF;`;

const changesOf = (rows: string, sign: 1 | -1) => `SELECT ${sign} AS sign, ${ORDER_COLUMNS} FROM ${rows}`;

/** Paid orders placed in [p_from, p_to): the facts side of a rebuild or a check. */
const paidOrdersBetween = (from: string, to: string) => `SELECT 1 AS sign, ${ORDER_COLUMNS} FROM analytics.orders WHERE total IS NOT NULL AND order_ts >= ${from} AND order_ts < ${to}`;
const salesFacts = (from: string, to: string) =>
  `SELECT ${list(SALES.keys)}, ${list(SALES.values)} FROM (${salesAtEveryGrain(
    `SELECT sign, ${quarterHour('order_ts')} AS quarter_hour, location_code, service_type, subtotal, tax, tip, total FROM (${paidOrdersBetween(from, to)}) AS paid`,
    '0',
    'quarter_hour',
  )}) AS f (${list(SALES.keys)}, slot, ${list(SALES.values)})`;
/** Orders of business days in [from_day, to_day): a zone is at most 14 hours and a cut-off under a day from UTC midnight. */
const locationSalesFacts = (fromDay: string, toDay: string) =>
  `SELECT ${list(LOCATION_SALES.keys)}, ${list(LOCATION_SALES.values)} FROM (${locationSalesOf(
    paidOrdersBetween(`(${fromDay} - 2)::timestamp AT TIME ZONE 'UTC'`, `(${toDay} + 2)::timestamp AT TIME ZONE 'UTC'`),
    '0',
  )}) AS f (${list(LOCATION_SALES.keys)}, slot, ${list(LOCATION_SALES.values)}) WHERE business_day >= ${fromDay} AND business_day < ${toDay}`;
const feedbackFacts = (from: string, to: string) =>
  `SELECT ${list(FEEDBACK.keys)}, ${list(FEEDBACK.values)} FROM (${feedbackOf(
    `SELECT 1 AS sign, created_ts, rating, nps FROM analytics.feedback WHERE created_ts >= ${from} AND created_ts < ${to}`,
    '0',
    FEEDBACK_BY_QUARTER_HOUR,
  )}) AS f (${list(FEEDBACK.keys)}, slot, ${list(FEEDBACK.values)})`;
/** Items of paid orders placed in [from, to) by UTC day (see menuOf). */
const menuDayFacts = (from: string, to: string) =>
  `SELECT ${list(MENU_DAYS.keys)}, ${list(MENU_DAYS.values)} FROM (${menuOf(
    `SELECT 1 AS sign, ${utcDay('o.order_ts')} AS day, i.${ITEM_COLUMNS.split(', ').join(', i.')}
     FROM analytics.orders o JOIN analytics.order_items i USING (order_id)
     WHERE o.total IS NOT NULL AND o.order_ts >= ${from} AND o.order_ts < ${to}`,
    '0',
  )}) AS f (${list(MENU_DAYS.keys)}, slot, ${list(MENU_DAYS.values)})`;

const asInstant = (day: string) => `(${day})::timestamp AT TIME ZONE 'UTC'`;

export async function up(db: Kysely<unknown>): Promise<void> {
  // 0010's hour-grained sales and feedback rollups and the views over them give way to the new ones.
  await sql`
    DROP VIEW analytics.hourly_sales_totals, analytics.satisfaction_summary, analytics.menu_performance, analytics.daily_sales, analytics.hourly_sales;
    DROP FUNCTION analytics.rebuild_rollups(timestamptz, timestamptz);
    DROP TABLE analytics.sales_hourly_rollup, analytics.feedback_hourly_rollup;

    CREATE TABLE analytics.sales_quarter_hour_rollup (
      grain          text        NOT NULL CHECK (grain IN ('location_service', 'location', 'service_type', 'all')),
      quarter_hour   timestamptz NOT NULL,
      location_code  text        NOT NULL,
      service_type   text        NOT NULL,
      slot           smallint    NOT NULL,
      order_count    bigint      NOT NULL,
      subtotal_cents bigint      NOT NULL,
      tax_cents      bigint      NOT NULL,
      tip_cents      bigint      NOT NULL,
      total_cents    bigint      NOT NULL,
      PRIMARY KEY (grain, quarter_hour, location_code, service_type, slot)
    ) WITH (fillfactor = 70);
    COMMENT ON TABLE analytics.sales_quarter_hour_rollup IS 'Paid orders by the UTC quarter hour they were placed, location and service type, with their money in cents, at four grains (grain; location_code and/or service_type ''*'' = all); one row per writer slot (the views sum the slots). A local hour or day in any time zone in use is a whole number of quarter hours. Kept by triggers on analytics.orders.';

    CREATE TABLE analytics.location_hourly_rollup (
      business_day   date     NOT NULL,
      location_code  text     NOT NULL,
      hour_of_day    smallint NOT NULL CHECK (hour_of_day BETWEEN 0 AND 23),
      slot           smallint NOT NULL,
      order_count    bigint   NOT NULL,
      subtotal_cents bigint   NOT NULL,
      tax_cents      bigint   NOT NULL,
      tip_cents      bigint   NOT NULL,
      total_cents    bigint   NOT NULL,
      PRIMARY KEY (business_day, location_code, hour_of_day, slot)
    ) WITH (fillfactor = 70);
    COMMENT ON TABLE analytics.location_hourly_rollup IS 'Paid orders by each location''s business day (its zone and cut-off, analytics.locations) and local hour of day; one row per writer slot. Kept by triggers on analytics.orders; analytics.set_location re-derives a location''s rows.';

    CREATE TABLE analytics.feedback_quarter_hour_rollup (
      quarter_hour    timestamptz NOT NULL,
      slot            smallint    NOT NULL,
      feedback_count  bigint      NOT NULL,
      rating_sum      bigint      NOT NULL,
      nps_sum         bigint      NOT NULL,
      satisfied_count bigint      NOT NULL,
      promoter_count  bigint      NOT NULL,
      detractor_count bigint      NOT NULL,
      PRIMARY KEY (quarter_hour, slot)
    ) WITH (fillfactor = 70);
    COMMENT ON TABLE analytics.feedback_quarter_hour_rollup IS 'Feedback with both a rating and an nps by the UTC quarter hour it was created; one row per writer slot. Kept by triggers on analytics.feedback.';

    CREATE TABLE analytics.menu_monthly_rollup (
      month            date   NOT NULL CHECK (month = date_trunc('month', month)::date),
      category         text   NOT NULL,
      item_name        text   NOT NULL,
      times_ordered    bigint NOT NULL,
      quantity         bigint NOT NULL,
      revenue_cents    bigint NOT NULL,
      unit_price_cents bigint NOT NULL,
      PRIMARY KEY (month, category, item_name)
    );
    COMMENT ON TABLE analytics.menu_monthly_rollup IS 'Order lines of paid orders by the UTC month their order was placed, category and item: closed months (analytics.menu_months_closed_before()) of menu_daily_rollup folded into one row each by the maintenance schedule, and a rebuild''s corrections of closed months. A closed month is its rows here plus its day rows not folded yet.';

    ALTER TABLE analytics.maintenance_results DROP CONSTRAINT maintenance_results_task_check,
      ADD CONSTRAINT maintenance_results_task_check CHECK (task IN ('health_check', 'data_consistency', 'raw_retention', 'rollup_folding', 'analyze'));

    -- The rows the maintenance schedule folds into slot 0, found without reading the others.
    CREATE INDEX sales_quarter_hour_rollup_unfolded ON analytics.sales_quarter_hour_rollup (quarter_hour) WHERE slot <> 0;
    CREATE INDEX location_hourly_rollup_unfolded ON analytics.location_hourly_rollup (business_day) WHERE slot <> 0;
    CREATE INDEX feedback_quarter_hour_rollup_unfolded ON analytics.feedback_quarter_hour_rollup (quarter_hour) WHERE slot <> 0;
  `.execute(db);

  await sql`
    COMMENT ON FUNCTION analytics.rollup_lock_all_slots() IS 'Waits for every rollup writer to commit and keeps new ones out until this transaction ends (set_location, folding)';

    CREATE OR REPLACE FUNCTION analytics.rollup_orders_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
      unseen text[];
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${sql.raw(addUnseenLocations('new_rows'))}
        ${sql.raw(addAllSales(changesOf('new_rows', 1)))}
      ELSIF TG_OP = 'UPDATE' THEN
        ${sql.raw(addUnseenLocations('new_rows'))}
        -- Only rows whose contribution changed: a payment's UPDATE moves its order in, a no-op moves nothing.
        ${sql.raw(addAllSales(CHANGED_ORDERS))}
        -- An order that became paid brings the items it already has into the menu rollup (one that
        -- stopped being paid, or moved to another day, moves them); later items count by their own trigger.
        ${sql.raw(addMenu(ITEMS_OF_CHANGED_ORDERS))};
      ELSE
        -- DELETE (by hand only: ingestion never deletes facts); the items left in rollup_order_deleting().
        ${sql.raw(addAllSales(changesOf('old_rows', -1)))}
      END IF;
      RETURN NULL;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_orders_changed() IS 'Statement-level trigger: adds unseen locations, moves sales_quarter_hour_rollup and location_hourly_rollup by the orders the statement changed, and menu_daily_rollup by the items of orders that became paid';

    CREATE OR REPLACE FUNCTION analytics.rollup_feedback_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${sql.raw(addFeedback('SELECT 1 AS sign, created_ts, rating, nps FROM new_rows', FEEDBACK_BY_QUARTER_HOUR))};
      ELSIF TG_OP = 'UPDATE' THEN
        ${sql.raw(addFeedback('SELECT -1 AS sign, created_ts, rating, nps FROM old_rows UNION ALL SELECT 1, created_ts, rating, nps FROM new_rows', FEEDBACK_BY_QUARTER_HOUR))};
      ELSE
        ${sql.raw(addFeedback('SELECT -1 AS sign, created_ts, rating, nps FROM old_rows', FEEDBACK_BY_QUARTER_HOUR))};
      END IF;
      RETURN NULL;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_feedback_changed() IS 'Statement-level trigger: moves feedback_quarter_hour_rollup by the feedback the statement changed';

    CREATE OR REPLACE FUNCTION analytics.rollup_facts_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_TABLE_NAME = 'orders' THEN
        TRUNCATE analytics.sales_quarter_hour_rollup, analytics.location_hourly_rollup, analytics.menu_daily_rollup, analytics.menu_monthly_rollup;
      ELSIF TG_TABLE_NAME = 'order_items' THEN
        TRUNCATE analytics.menu_daily_rollup, analytics.menu_monthly_rollup;
      ELSE
        TRUNCATE analytics.feedback_quarter_hour_rollup;
      END IF;
      RETURN NULL;
    END
    $$;
  `.execute(db);

  await sql`
    CREATE FUNCTION analytics.set_location(
      p_location_code      text,
      p_time_zone          text DEFAULT NULL,
      p_business_day_start time DEFAULT NULL,
      p_name               text DEFAULT NULL,
      p_source             text DEFAULT 'operator'
    ) RETURNS analytics.locations
    LANGUAGE plpgsql AS $$
    DECLARE
      was analytics.locations;
      now_is analytics.locations;
    BEGIN
      IF p_location_code IS NULL OR p_location_code !~ '^LOC-[A-Z]{2}-[0-9]{3}$' THEN
        RAISE EXCEPTION 'a location code looks like LOC-ON-007, got %', coalesce(quote_literal(p_location_code), 'none') USING ERRCODE = 'invalid_parameter_value';
      END IF;
      IF p_time_zone IS NOT NULL AND NOT analytics.is_time_zone(p_time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %: give an IANA zone name such as America/Toronto, America/St_Johns or Asia/Kolkata', quote_literal(p_time_zone)
          USING ERRCODE = 'invalid_parameter_value';
      END IF;
      IF p_source NOT IN ('operator', 'warehouse default') THEN
        RAISE EXCEPTION 'p_source must be operator or warehouse default, got %', quote_literal(p_source) USING ERRCODE = 'invalid_parameter_value';
      END IF;
      INSERT INTO analytics.time_zones SELECT p_time_zone WHERE p_time_zone IS NOT NULL ON CONFLICT DO NOTHING;
      PERFORM analytics.rollup_lock_all_slots();
      SELECT * INTO was FROM analytics.locations WHERE location_code = p_location_code;
      INSERT INTO analytics.locations AS l (location_code, name, time_zone, business_day_start, time_zone_source)
      VALUES (p_location_code, p_name,
              coalesce(p_time_zone, analytics.province_time_zone(p_location_code), analytics.default_time_zone()),
              coalesce(p_business_day_start, '00:00'),
              CASE WHEN p_time_zone IS NOT NULL THEN p_source WHEN analytics.province_time_zone(p_location_code) IS NOT NULL THEN 'province' ELSE 'warehouse default' END)
      ON CONFLICT (location_code) DO UPDATE SET
        name = coalesce(p_name, l.name),
        time_zone = coalesce(p_time_zone, l.time_zone),
        business_day_start = coalesce(p_business_day_start, l.business_day_start),
        time_zone_source = CASE WHEN p_time_zone IS NULL THEN l.time_zone_source ELSE p_source END,
        updated_at = now()
      RETURNING * INTO now_is;
      IF (was.time_zone, was.business_day_start) IS DISTINCT FROM (now_is.time_zone, now_is.business_day_start) THEN
        DELETE FROM analytics.location_hourly_rollup WHERE location_code = p_location_code;
        ${sql.raw(addLocationSales(`${changesOf('analytics.orders', 1)} WHERE location_code = p_location_code AND total IS NOT NULL`))};
      END IF;
      RETURN now_is;
    END
    $$;
    COMMENT ON FUNCTION analytics.set_location(text, text, time, text, text) IS 'Sets a location''s zone, business-day start or name (null: unchanged; a new code gets its row) and re-derives its business days in the same transaction, holding every rollup writer back meanwhile';

    CREATE FUNCTION analytics.set_default_time_zone(p_time_zone text) RETURNS integer
    LANGUAGE plpgsql AS $$
    DECLARE
      moved integer := 0;
      location record;
    BEGIN
      IF p_time_zone IS NULL OR NOT analytics.is_time_zone(p_time_zone) THEN
        RAISE EXCEPTION 'unknown time zone %: give an IANA zone name such as America/Toronto', coalesce(quote_literal(p_time_zone), 'none') USING ERRCODE = 'invalid_parameter_value';
      END IF;
      INSERT INTO analytics.time_zones VALUES (p_time_zone) ON CONFLICT DO NOTHING;
      INSERT INTO analytics.warehouse_settings AS s (name, value) VALUES ('default_time_zone', p_time_zone)
      ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now() WHERE s.value <> EXCLUDED.value;
      FOR location IN
        SELECT location_code FROM analytics.locations WHERE time_zone_source = 'warehouse default' AND time_zone <> p_time_zone ORDER BY location_code
      LOOP
        PERFORM analytics.set_location(location.location_code, p_time_zone, p_source => 'warehouse default');
        moved := moved + 1;
      END LOOP;
      RETURN moved;
    END
    $$;
    COMMENT ON FUNCTION analytics.set_default_time_zone(text) IS 'WAREHOUSE_TIME_ZONE (migrate): the zone of locations whose code names no known province; those that had the old default follow, re-derived. Returns how many moved.';
  `.execute(db);

  await sql`
    CREATE FUNCTION analytics.rollups_closed_before() RETURNS timestamptz
    LANGUAGE sql STABLE AS $$ SELECT now() - interval '2 days' $$;
    COMMENT ON FUNCTION analytics.rollups_closed_before() IS 'Periods before this are closed: late writes to them are rare, and the consistency check''s 48 hours never reach them';
    CREATE FUNCTION analytics.menu_months_closed_before() RETURNS date
    LANGUAGE sql STABLE AS $$ SELECT ${sql.raw(utcMonth('analytics.rollups_closed_before()'))} $$;
    COMMENT ON FUNCTION analytics.menu_months_closed_before() IS 'UTC months before this are closed: the menu keeps them at month grain (menu_monthly_rollup, plus day rows not folded yet)';

    CREATE FUNCTION analytics.rebuild_rollups(p_from date, p_to date) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      range_start constant timestamptz := ${sql.raw(asInstant('p_from'))};
      range_end   constant timestamptz := ${sql.raw(asInstant('p_to'))};
      -- Months before this (within the range) are closed: the menu keeps them at month grain.
      open_from   constant date := greatest(p_from, least(p_to, analytics.menu_months_closed_before()));
      open_start  constant timestamptz := ${sql.raw(asInstant('open_from'))};
      sales_keys bigint;
      location_keys bigint;
      menu_month_keys bigint;
      menu_day_keys bigint;
      feedback_keys bigint;
    BEGIN
      IF p_from IS NULL OR p_to IS NULL OR p_to <= p_from
         OR p_from <> date_trunc('month', p_from)::date OR p_to <> date_trunc('month', p_to)::date THEN
        RAISE EXCEPTION 'rebuild_rollups takes whole months: the first day of one and of a later one, got % and %', p_from, p_to USING ERRCODE = 'invalid_parameter_value';
      END IF;
      -- A slot of our own before anything is read: no location changes until we commit.
      PERFORM analytics.rollup_slot();
      ${sql.raw(addDifference(SALES, salesFacts('range_start', 'range_end'), rowsOf(SALES, `${EVERY_GRAIN} AND quarter_hour >= range_start AND quarter_hour < range_end`)))};
      GET DIAGNOSTICS sales_keys = ROW_COUNT;
      ${sql.raw(addDifference(LOCATION_SALES, locationSalesFacts('p_from', 'p_to'), rowsOf(LOCATION_SALES, 'business_day >= p_from AND business_day < p_to')))};
      GET DIAGNOSTICS location_keys = ROW_COUNT;
      ${sql.raw(addDifference(FEEDBACK, feedbackFacts('range_start', 'range_end'), rowsOf(FEEDBACK, 'quarter_hour >= range_start AND quarter_hour < range_end')))};
      GET DIAGNOSTICS feedback_keys = ROW_COUNT;
      -- A closed month is its rows in menu_monthly_rollup plus any day rows not folded yet.
      ${sql.raw(
        addDifference(
          MENU_MONTHS,
          `SELECT date_trunc('month', day)::date, category, item_name, ${list(MENU_SUMS)} FROM (${menuDayFacts('range_start', 'open_start')}) AS days`,
          `SELECT month, category, item_name, ${list(MENU_SUMS)} FROM analytics.menu_monthly_rollup WHERE month >= p_from AND month < open_from
           UNION ALL
           SELECT date_trunc('month', day)::date, category, item_name, ${list(MENU_SUMS)} FROM analytics.menu_daily_rollup WHERE day >= p_from AND day < open_from`,
        ),
      )};
      GET DIAGNOSTICS menu_month_keys = ROW_COUNT;
      ${sql.raw(addDifference(MENU_DAYS, menuDayFacts('open_start', 'range_end'), rowsOf(MENU_DAYS, 'day >= open_from AND day < p_to')))};
      GET DIAGNOSTICS menu_day_keys = ROW_COUNT;
      RETURN jsonb_build_object('sales_keys', sales_keys, 'location_keys', location_keys, 'menu_keys', menu_month_keys + menu_day_keys, 'feedback_keys', feedback_keys);
    END
    $$;
    COMMENT ON FUNCTION analytics.rebuild_rollups(date, date) IS 'Brings every rollup of the whole UTC months [p_from, p_to) (and the business days dated in them) to the same aggregate over the facts, by adding the difference read in one snapshot to this transaction''s slot; safe beside ingestion. Returns how many keys it corrected.';
    REVOKE EXECUTE ON FUNCTION analytics.rebuild_rollups(date, date) FROM PUBLIC;

    CREATE FUNCTION analytics.fold_rollup_slots(p_day date) RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      day_start constant timestamptz := ${sql.raw(asInstant('p_day'))};
      day_end   constant timestamptz := ${sql.raw(asInstant("p_day + 1"))};
      rows_folded bigint := 0;
      folded bigint;
    BEGIN
      PERFORM analytics.rollup_lock_all_slots();
      ${sql.raw(foldSlots(SALES, `${EVERY_GRAIN} AND quarter_hour >= day_start AND quarter_hour < day_end`))};
      GET DIAGNOSTICS folded = ROW_COUNT;
      rows_folded := rows_folded + folded;
      ${sql.raw(foldSlots(FEEDBACK, 'quarter_hour >= day_start AND quarter_hour < day_end'))};
      GET DIAGNOSTICS folded = ROW_COUNT;
      rows_folded := rows_folded + folded;
      ${sql.raw(foldSlots(LOCATION_SALES, 'business_day = p_day'))};
      GET DIAGNOSTICS folded = ROW_COUNT;
      RETURN rows_folded + folded;
    END
    $$;
    COMMENT ON FUNCTION analytics.fold_rollup_slots(date) IS 'Folds the write slots of one UTC day''s sales and feedback quarter hours, and of the business days dated that day, into slot 0; holds the writers back while it runs. Returns the rows written.';

    CREATE FUNCTION analytics.fold_menu_month(p_month date) RETURNS bigint
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      rows_folded bigint;
    BEGIN
      IF p_month IS NULL OR p_month <> date_trunc('month', p_month)::date THEN
        RAISE EXCEPTION 'fold_menu_month takes the first day of a month, got %', p_month USING ERRCODE = 'invalid_parameter_value';
      END IF;
      IF p_month >= analytics.menu_months_closed_before() THEN
        RAISE EXCEPTION 'the month of % is not closed yet: its days are still read day by day', p_month USING ERRCODE = 'invalid_parameter_value';
      END IF;
      PERFORM analytics.rollup_lock_all_slots();
      WITH moved AS (
        DELETE FROM analytics.menu_daily_rollup WHERE day >= p_month AND day < (p_month + interval '1 month')::date
        RETURNING category, item_name, ${sql.raw(list(MENU_SUMS))}
      )
      INSERT INTO analytics.menu_monthly_rollup AS r (month, category, item_name, ${sql.raw(list(MENU_SUMS))})
      SELECT p_month, category, item_name, ${sql.raw(MENU_SUMS.map((value) => `sum(${value})`).join(', '))} FROM moved
      GROUP BY category, item_name
      ORDER BY category, item_name
      ON CONFLICT (month, category, item_name) DO UPDATE SET ${sql.raw(increments(MENU_MONTHS))};
      GET DIAGNOSTICS rows_folded = ROW_COUNT;
      RETURN rows_folded;
    END
    $$;
    COMMENT ON FUNCTION analytics.fold_menu_month(date) IS 'Folds a closed month of menu_daily_rollup into one menu_monthly_rollup row per item; holds the writers back while it runs. Returns the rows written.';

    CREATE FUNCTION analytics.rollup_folds_due()
    RETURNS TABLE (kind text, period date)
    LANGUAGE sql STABLE AS $$
      SELECT 'slots', d FROM (
        SELECT (quarter_hour AT TIME ZONE 'UTC')::date FROM analytics.sales_quarter_hour_rollup WHERE slot <> 0 AND quarter_hour < analytics.rollups_closed_before()
        UNION SELECT (quarter_hour AT TIME ZONE 'UTC')::date FROM analytics.feedback_quarter_hour_rollup WHERE slot <> 0 AND quarter_hour < analytics.rollups_closed_before()
        UNION SELECT business_day FROM analytics.location_hourly_rollup WHERE slot <> 0 AND business_day < ${sql.raw(utcDay('analytics.rollups_closed_before()'))} - 1
      ) AS days (d)
      UNION ALL
      SELECT 'menu month', m FROM (
        SELECT DISTINCT date_trunc('month', day)::date FROM analytics.menu_daily_rollup WHERE day < analytics.menu_months_closed_before()
      ) AS months (m)
      ORDER BY 1, 2
    $$;
    COMMENT ON FUNCTION analytics.rollup_folds_due() IS 'What the maintenance schedule folds: closed days with rows in write slots other than 0, and closed months of menu days';

    CREATE OR REPLACE FUNCTION analytics.rollup_discrepancies(p_since timestamptz)
    RETURNS TABLE (rollup text, rollup_key text)
    LANGUAGE sql STABLE AS $$
      WITH since AS (
        SELECT ${sql.raw(quarterHour('p_since'))} AS quarter_hour, ${sql.raw(utcDay('p_since'))} AS day
      ),
      closed AS (SELECT analytics.menu_months_closed_before() AS before),
      -- Closed months are compared whole, at month grain; open ones day by day.
      menu_since AS (
        SELECT CASE WHEN ${sql.raw(utcMonth('p_since'))} < closed.before THEN ${sql.raw(utcMonth('p_since'))} ELSE since.day END AS day FROM since, closed
      ),
      -- Each menu row at the grain it is compared at: the rollup and period it belongs to.
      menu_facts AS (
        SELECT ${sql.raw(MENU_PERIOD('f.day'))}, f.category, f.item_name, ${sql.raw(list(MENU_SUMS, 'f.'))}
        FROM (${sql.raw(menuDayFacts(asInstant('(SELECT day FROM menu_since)'), "'infinity'"))}) AS f, closed
      ),
      menu_kept AS (
        SELECT ${sql.raw(MENU_PERIOD('r.day'))}, r.category, r.item_name, ${sql.raw(list(MENU_SUMS, 'r.'))}
        FROM (SELECT d.day, d.category, d.item_name, ${sql.raw(list(MENU_SUMS, 'd.'))} FROM analytics.menu_daily_rollup d WHERE d.day >= (SELECT day FROM menu_since)
              UNION ALL
              SELECT m.month, m.category, m.item_name, ${sql.raw(list(MENU_SUMS, 'm.'))} FROM analytics.menu_monthly_rollup m WHERE m.month >= (SELECT date_trunc('month', day)::date FROM menu_since)) AS r, closed
      )
      ${sql.raw(discrepancies(SALES, salesFacts('(SELECT quarter_hour FROM since)', "'infinity'"), rowsOf(SALES, `${EVERY_GRAIN} AND quarter_hour >= (SELECT quarter_hour FROM since)`)))}
      UNION ALL
      ${sql.raw(discrepancies(LOCATION_SALES, locationSalesFacts('(SELECT day FROM since)', "'infinity'::date"), rowsOf(LOCATION_SALES, 'business_day >= (SELECT day FROM since)')))}
      UNION ALL
      ${sql.raw(discrepancies(FEEDBACK, feedbackFacts('(SELECT quarter_hour FROM since)', "'infinity'"), rowsOf(FEEDBACK, 'quarter_hour >= (SELECT quarter_hour FROM since)')))}
      UNION ALL
      SELECT rollup, concat_ws('/', period, category, item_name) FROM (${sql.raw(difference(MENU_PERIODS, 'SELECT * FROM menu_facts', 'SELECT * FROM menu_kept'))}) AS d
    $$;
    COMMENT ON FUNCTION analytics.rollup_discrepancies(timestamptz) IS 'Rollup keys from p_since on (quarter hours, business days, menu days, or whole folded months) whose summed slots differ from the same aggregate over the facts; none when the rollups are exact';
  `.execute(db);

  await createViews(db);

  // An existing warehouse: the new rollups from its facts (a business day's orders may lie two days either side of its date).
  await sql`
    SELECT analytics.rebuild_rollups(date_trunc('month', (first - interval '2 days') AT TIME ZONE 'UTC')::date,
                                     (date_trunc('month', (last + interval '2 days') AT TIME ZONE 'UTC') + interval '1 month')::date)
    FROM (SELECT least((SELECT min(order_ts) FROM analytics.orders), (SELECT min(created_ts) FROM analytics.feedback)) AS first,
                 greatest((SELECT max(order_ts) FROM analytics.orders), (SELECT max(created_ts) FROM analytics.feedback)) AS last) AS facts
    WHERE first IS NOT NULL
  `.execute(db);
  // 0010's daily menu rows of closed months would otherwise stay beside the months the rebuild wrote,
  // and the all-time menu cards would read days × items until maintenance folds them.
  await sql`SELECT analytics.fold_menu_month(period) FROM analytics.rollup_folds_due() WHERE kind = 'menu month'`.execute(db);
}

/**
 * The four seed views with their names, columns and meaning, exact in any session time zone; the
 * dashboards' quarter-hour totals; and each location's business days and local hours.
 */
async function createViews(db: Kysely<unknown>): Promise<void> {
  const salesSums = (r: string) => `
           sum(${r}.order_count)::bigint AS order_count,
           sum(${r}.subtotal_cents) * 0.01 AS subtotal,
           sum(${r}.tax_cents) * 0.01 AS tax,
           sum(${r}.tip_cents) * 0.01 AS tip,
           sum(${r}.total_cents) * 0.01 AS total`;
  const revenueAndTips = (r: string) => `
           sum(${r}.order_count)::bigint AS order_count,
           sum(${r}.total_cents) * 0.01 AS total_revenue,
           round(sum(${r}.total_cents) * 0.01 / sum(${r}.order_count), 2) AS avg_order_value,
           sum(${r}.tip_cents) * 0.01 AS total_tips,
           round(sum(${r}.tip_cents) * 0.01 / sum(${r}.order_count), 2) AS avg_tip`;
  /** Local midnights in the session's zone from the rollup's first row to its last (a day is 23 or 25 hours across DST). */
  const sessionDays = (table: string, where = 'true') =>
    `SELECT generate_series(date_trunc('day', min(quarter_hour)), max(quarter_hour), interval '1 day') AS day FROM ${table} WHERE ${where}`;

  await sql`
    -- date_trunc in the session's zone over quarter hours: exact in every zone in use.
    CREATE VIEW analytics.hourly_sales AS
    SELECT date_trunc('hour', r.quarter_hour) AS hour,
           r.location_code,
           r.service_type,${sql.raw(salesSums('r'))},
           round(sum(r.total_cents) * 0.01 / sum(r.order_count), 2) AS avg_order_value
    FROM analytics.sales_quarter_hour_rollup r
    WHERE r.grain = 'location_service'
    GROUP BY 1, 2, 3
    HAVING sum(r.order_count) <> 0
    ORDER BY hour DESC;

    -- Day by day in the session's zone, each day's quarter hours read by their range: a filter on
    -- "day" (every 30-day card has one) then skips the other days instead of bucketing every row.
    CREATE VIEW analytics.daily_sales AS
    SELECT d.day, s.location_code, s.order_count, s.total_revenue, s.avg_order_value, s.total_tips, s.avg_tip
    FROM (${sql.raw(sessionDays(SALES.table, "grain = 'all'"))}) AS d
    CROSS JOIN LATERAL (
      SELECT r.location_code,${sql.raw(revenueAndTips('r'))}
      FROM analytics.sales_quarter_hour_rollup r
      WHERE r.grain = 'location' AND r.quarter_hour >= d.day AND r.quarter_hour < d.day + interval '1 day'
      GROUP BY r.location_code
      HAVING sum(r.order_count) <> 0
    ) AS s
    ORDER BY d.day DESC, s.location_code;

    CREATE VIEW analytics.menu_performance AS
    SELECT r.category,
           r.item_name,
           sum(r.times_ordered)::bigint                                    AS times_ordered,
           sum(r.quantity)::bigint                                         AS total_quantity_sold,
           sum(r.revenue_cents) * 0.01                                     AS total_revenue,
           round(sum(r.unit_price_cents) * 0.01 / sum(r.times_ordered), 2) AS avg_unit_price,
           round(sum(r.revenue_cents) * 0.01 / sum(r.times_ordered), 2)    AS avg_extended_price
    FROM (SELECT category, item_name, ${sql.raw(list(MENU_SUMS))} FROM analytics.menu_daily_rollup
          UNION ALL
          SELECT category, item_name, ${sql.raw(list(MENU_SUMS))} FROM analytics.menu_monthly_rollup) AS r
    GROUP BY r.category, r.item_name
    HAVING sum(r.times_ordered) <> 0
    ORDER BY total_revenue DESC;

    CREATE VIEW analytics.satisfaction_summary AS
    SELECT d.day, s.feedback_count, s.avg_rating, s.avg_nps, s.satisfaction_rate, s.promoter_rate, s.detractor_rate
    FROM (${sql.raw(sessionDays(FEEDBACK.table))}) AS d
    CROSS JOIN LATERAL (
      SELECT sum(r.feedback_count)::bigint                                    AS feedback_count,
             round(sum(r.rating_sum) / sum(r.feedback_count), 2)              AS avg_rating,
             round(sum(r.nps_sum) / sum(r.feedback_count), 2)                 AS avg_nps,
             round(sum(r.satisfied_count) * 100.0 / sum(r.feedback_count), 2) AS satisfaction_rate,
             round(sum(r.promoter_count) * 100.0 / sum(r.feedback_count), 2)  AS promoter_rate,
             round(sum(r.detractor_count) * 100.0 / sum(r.feedback_count), 2) AS detractor_rate
      FROM analytics.feedback_quarter_hour_rollup r
      WHERE r.quarter_hour >= d.day AND r.quarter_hour < d.day + interval '1 day'
      HAVING sum(r.feedback_count) <> 0
    ) AS s
    ORDER BY d.day DESC;

    COMMENT ON VIEW analytics.hourly_sales IS 'Hourly sales by location and service type, by the hour of the session''s time zone (exact in every zone in use). Only paid orders count (total is set by payment_captured): an order appears, in the hour it was placed, once its payment has landed.';
    COMMENT ON VIEW analytics.daily_sales IS 'Daily sales by location, by the day of the session''s time zone (each location''s own business day: location_daily_sales). Only paid orders count (total is set by payment_captured); unpaid orders are left out of counts and averages alike.';
    COMMENT ON VIEW analytics.menu_performance IS 'Menu item performance, all time; times_ordered counts order lines. Only items of paid orders count.';
    COMMENT ON VIEW analytics.satisfaction_summary IS 'Daily customer satisfaction by the day of the session''s time zone; rates in percent (0-100): satisfied = rating >= 4, promoter = nps >= 9, detractor = nps <= 6. Feedback counts whether or not its order was paid; feedback missing a rating or an nps is left out.';

    CREATE VIEW analytics.sales_quarter_hours AS
    SELECT r.grain,
           r.quarter_hour,
           nullif(r.location_code, ${sql.raw(ALL)}) AS location_code,
           nullif(r.service_type, ${sql.raw(ALL)})  AS service_type,${sql.raw(salesSums('r'))}
    FROM analytics.sales_quarter_hour_rollup r
    GROUP BY r.grain, r.quarter_hour, r.location_code, r.service_type
    HAVING sum(r.order_count) <> 0;
    COMMENT ON VIEW analytics.sales_quarter_hours IS 'Paid orders per UTC quarter hour at every grain: location_service, location (service_type null), service_type (location_code null), all (both null). Filter on grain and quarter_hour (both reach the rollup''s key); a local hour or day in any zone in use is date_trunc of quarter_hour in that zone. The sales cards read it.';

    CREATE VIEW analytics.hourly_sales_totals AS
    SELECT grain, date_trunc('hour', quarter_hour) AS hour, location_code, service_type,
           sum(order_count)::bigint AS order_count, sum(subtotal) AS subtotal, sum(tax) AS tax, sum(tip) AS tip, sum(total) AS total
    FROM analytics.sales_quarter_hours
    GROUP BY 1, 2, 3, 4;
    COMMENT ON VIEW analytics.hourly_sales_totals IS 'Paid orders per hour of the session''s time zone (as hourly_sales) at every grain (see sales_quarter_hours, which a time filter reaches faster).';

    -- Summed first, then joined to the locations' few rows for their zone: a filter on business_day reaches the key.
    CREATE VIEW analytics.location_daily_sales AS
    SELECT s.business_day, s.location_code, l.time_zone, s.order_count, s.total_revenue, s.avg_order_value, s.total_tips, s.avg_tip
    FROM (
      SELECT r.business_day, r.location_code,${sql.raw(revenueAndTips('r'))}
      FROM analytics.location_hourly_rollup r
      GROUP BY r.business_day, r.location_code
      HAVING sum(r.order_count) <> 0
    ) AS s
    JOIN analytics.locations l USING (location_code);
    COMMENT ON VIEW analytics.location_daily_sales IS 'Paid orders by each location''s business day: the local date its day started on, in its own zone from its own cut-off (analytics.locations), as a POS back office reports them; 23- and 25-hour days across DST.';

    CREATE VIEW analytics.location_hourly_sales AS
    SELECT s.business_day, s.location_code, l.time_zone, s.hour_of_day, s.order_count, s.total_revenue, s.avg_order_value, s.total_tips, s.avg_tip
    FROM (
      SELECT r.business_day, r.location_code, r.hour_of_day,${sql.raw(revenueAndTips('r'))}
      FROM analytics.location_hourly_rollup r
      GROUP BY r.business_day, r.location_code, r.hour_of_day
      HAVING sum(r.order_count) <> 0
    ) AS s
    JOIN analytics.locations l USING (location_code);
    COMMENT ON VIEW analytics.location_hourly_sales IS 'Paid orders by each location''s business day and local hour of day (0-23, in its own zone): peak hours compared across zones.';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Back to 0010's rollups: everything of this migration and 0010's remaining pieces go, then 0010 installs its own again.
  await sql`
    DELETE FROM analytics.maintenance_results WHERE task = 'rollup_folding';
    ALTER TABLE analytics.maintenance_results DROP CONSTRAINT maintenance_results_task_check,
      ADD CONSTRAINT maintenance_results_task_check CHECK (task IN ('health_check', 'data_consistency', 'raw_retention', 'analyze'));
    DROP VIEW analytics.location_hourly_sales, analytics.location_daily_sales, analytics.hourly_sales_totals, analytics.sales_quarter_hours,
              analytics.satisfaction_summary, analytics.menu_performance, analytics.daily_sales, analytics.hourly_sales;
    DROP FUNCTION analytics.rollup_discrepancies(timestamptz);
    DROP FUNCTION analytics.rollup_folds_due();
    DROP FUNCTION analytics.fold_menu_month(date);
    DROP FUNCTION analytics.fold_rollup_slots(date);
    DROP FUNCTION analytics.rebuild_rollups(date, date);
    DROP FUNCTION analytics.menu_months_closed_before();
    DROP FUNCTION analytics.rollups_closed_before();
    DROP FUNCTION analytics.set_default_time_zone(text);
    DROP FUNCTION analytics.set_location(text, text, time, text, text);
  `.execute(db);
  for (const table of ['orders', 'order_items', 'feedback']) {
    for (const operation of ['insert', 'update', 'delete', 'truncate']) {
      await sql`DROP TRIGGER ${sql.raw(`rollup_${table}_${operation}`)} ON ${sql.raw(`analytics.${table}`)}`.execute(db);
    }
  }
  await sql`
    DROP TRIGGER rollup_orders_deleting ON analytics.orders;
    DROP FUNCTION analytics.rollup_facts_truncated();
    DROP FUNCTION analytics.rollup_feedback_changed();
    DROP FUNCTION analytics.rollup_order_items_changed();
    DROP FUNCTION analytics.rollup_order_deleting();
    DROP FUNCTION analytics.rollup_orders_changed();
    DROP TABLE analytics.menu_monthly_rollup, analytics.feedback_quarter_hour_rollup, analytics.location_hourly_rollup, analytics.sales_quarter_hour_rollup, analytics.menu_daily_rollup;
  `.execute(db);
  await installRollups(db);
}
