import { sql, type Kysely } from 'kysely';
import * as reportingViews from './0006_reporting_views.js';
import * as healthFunctions from './0007_health_functions.js';

/*
 * Rollups: the aggregates the four reporting views and the Metabase cards read, kept by statement-level
 * triggers on the fact tables from each statement's transition tables. Whatever writes the facts
 * (built-in or plugin processors, staged children released later, a reprocess run) moves the rollups
 * by exactly the rows it really changed, in its own transaction: a duplicate that inserts nothing
 * moves nothing, an UPDATE moves the old row out and the new one in. Upserts in the writer's own SQL
 * would have to re-derive that effect for every processor, plugins included; the triggers cost about a
 * tenth of the writer's database time (bench/dashboards.ts, numbers in the README).
 *
 * Grain: sales and feedback by UTC hour, which date_trunc buckets into the right hour and day in any
 * session time zone with whole-hour offsets; sales also at coarser grains (by location, by service
 * type, all), because a 30-day card over 12 locations x 3 service types otherwise sums 26,000 hourly
 * groups (measured: 125-220 ms, against 1-4 ms on the coarse rows). Menu lines by the UTC day their
 * order was placed: menu_performance has no time axis, and a day keeps the rollup small and a rebuild
 * chunked. Money in cents: bigint sums cost a fraction of numeric ones.
 *
 * Concurrency: a writing transaction claims one of ROLLUP_SLOTS slots (a transaction-level advisory
 * lock, the first free one) and writes only its slot's rollup rows, which the views sum: concurrent
 * writers never touch the same rollup rows, so they neither wait for nor deadlock with each other. A
 * rebuild takes every slot in ascending order: it waits for the writers holding one and keeps new ones
 * out until its chunk commits. An item counts only once its order is paid; the items trigger reads
 * orders another transaction wrote FOR SHARE, which orders it against a concurrent payment of the same
 * order: whichever commits second sees the other's row and counts the item, never both, never neither.
 */
const ROLLUP_SLOTS = 8;
/** First key of the two-key advisory locks that claim a slot (the second is the slot). */
const ROLLUP_LOCK_CLASS = 72_010;

const utcHour = (column: string) => `date_trunc('hour', ${column}, 'UTC')`;
export const utcDay = (column: string) => `(${column} AT TIME ZONE 'UTC')::date`;
/** Money in whole cents (the facts are numeric(12,2)): bigint sums are several times cheaper to read than numeric ones. */
export const cents = (sum: string) => `(coalesce(${sum}, 0) * 100)::bigint`;

/** Marks a sales rollup row that covers every location, or every service type. */
export const ALL = `'*'`;

/** Where a sales or feedback rollup keeps its time buckets: its table, the bucket column, and the bucket of an instant. */
export interface TimeBuckets {
  readonly table: string;
  readonly column: string;
  readonly of: (instant: string) => string;
}
const SALES_BY_UTC_HOUR: TimeBuckets = { table: 'analytics.sales_hourly_rollup', column: 'hour', of: utcHour };
const FEEDBACK_BY_UTC_HOUR: TimeBuckets = { table: 'analytics.feedback_hourly_rollup', column: 'hour', of: utcHour };

/**
 * Sums paid orders `o(sign, <period>, location_code, service_type, subtotal, tax, tip, total)` at every
 * grain the reports read: by location and service type, by location, by service type, and in all.
 * The grain leads the rollup's key, so a report reads exactly the rows of its grain and hours.
 */
export const salesAtEveryGrain = (orders: string, slot: string, period = 'hour') => `
  SELECT (ARRAY['location_service', 'location', 'service_type', 'all'])[1 + GROUPING(o.location_code, o.service_type)],
         o.${period}, coalesce(o.location_code, ${ALL}), coalesce(o.service_type, ${ALL}), ${slot},
         sum(o.sign), ${cents('sum(o.sign * o.subtotal)')}, ${cents('sum(o.sign * o.tax)')}, ${cents('sum(o.sign * o.tip)')}, ${cents('sum(o.sign * o.total)')}
  FROM (${orders}) AS o
  GROUP BY GROUPING SETS ((o.${period}, o.location_code, o.service_type), (o.${period}, o.location_code), (o.${period}, o.service_type), (o.${period}))
  ORDER BY 1, 2, 3, 4`;

/** Adds signed order changes `c(sign, order_ts, location_code, service_type, subtotal, tax, tip, total)` of paid orders to the slot's sales rows. */
export const addSales = (changes: string, buckets: TimeBuckets = SALES_BY_UTC_HOUR) => `
  INSERT INTO ${buckets.table} AS r (grain, ${buckets.column}, location_code, service_type, slot, order_count, subtotal_cents, tax_cents, tip_cents, total_cents)
  ${salesAtEveryGrain(
    `SELECT c.sign, ${buckets.of('c.order_ts')} AS ${buckets.column}, c.location_code, c.service_type, c.subtotal, c.tax, c.tip, c.total
     FROM (${changes}) AS c WHERE c.total IS NOT NULL`,
    '(SELECT analytics.rollup_slot())',
    buckets.column,
  )}
  ON CONFLICT (grain, ${buckets.column}, location_code, service_type, slot) DO UPDATE SET
    order_count = r.order_count + EXCLUDED.order_count, subtotal_cents = r.subtotal_cents + EXCLUDED.subtotal_cents,
    tax_cents = r.tax_cents + EXCLUDED.tax_cents, tip_cents = r.tip_cents + EXCLUDED.tip_cents, total_cents = r.total_cents + EXCLUDED.total_cents`;

/** Sums signed item changes `c(sign, day, category, item_name, qty, extended_price, unit_price)` by day and item. */
export const menuOf = (changes: string, slot: string) => `
  SELECT c.day, c.category, c.item_name, ${slot},
         sum(c.sign), sum(c.sign * c.qty), ${cents('sum(c.sign * c.extended_price)')}, ${cents('sum(c.sign * c.unit_price)')}
  FROM (${changes}) AS c
  GROUP BY 1, 2, 3
  ORDER BY 1, 2, 3`;

/** Adds signed item changes (see menuOf; items of paid orders only) to the slot's menu rows. */
export const addMenu = (changes: string) => `
  INSERT INTO analytics.menu_daily_rollup AS r (day, category, item_name, slot, times_ordered, quantity, revenue_cents, unit_price_cents)
  ${menuOf(changes, '(SELECT analytics.rollup_slot())')}
  ON CONFLICT (day, category, item_name, slot) DO UPDATE SET
    times_ordered = r.times_ordered + EXCLUDED.times_ordered, quantity = r.quantity + EXCLUDED.quantity,
    revenue_cents = r.revenue_cents + EXCLUDED.revenue_cents, unit_price_cents = r.unit_price_cents + EXCLUDED.unit_price_cents`;

/** Sums signed feedback changes `c(sign, created_ts, rating, nps)` by time bucket. */
export const feedbackOf = (changes: string, slot: string, buckets: TimeBuckets) => `
  SELECT ${buckets.of('c.created_ts')}, ${slot},
         sum(c.sign), sum(c.sign * c.rating), sum(c.sign * c.nps),
         coalesce(sum(c.sign) FILTER (WHERE c.rating >= 4), 0), coalesce(sum(c.sign) FILTER (WHERE c.nps >= 9), 0), coalesce(sum(c.sign) FILTER (WHERE c.nps <= 6), 0)
  FROM (${changes}) AS c
  WHERE c.rating IS NOT NULL AND c.nps IS NOT NULL
  GROUP BY 1
  ORDER BY 1`;

/** Adds signed feedback changes (see feedbackOf) to the slot's feedback rows. */
export const addFeedback = (changes: string, buckets: TimeBuckets = FEEDBACK_BY_UTC_HOUR) => `
  INSERT INTO ${buckets.table} AS r (${buckets.column}, slot, feedback_count, rating_sum, nps_sum, satisfied_count, promoter_count, detractor_count)
  ${feedbackOf(changes, '(SELECT analytics.rollup_slot())', buckets)}
  ON CONFLICT (${buckets.column}, slot) DO UPDATE SET
    feedback_count = r.feedback_count + EXCLUDED.feedback_count, rating_sum = r.rating_sum + EXCLUDED.rating_sum,
    nps_sum = r.nps_sum + EXCLUDED.nps_sum, satisfied_count = r.satisfied_count + EXCLUDED.satisfied_count,
    promoter_count = r.promoter_count + EXCLUDED.promoter_count, detractor_count = r.detractor_count + EXCLUDED.detractor_count`;

export const ORDER_COLUMNS = 'order_ts, location_code, service_type, subtotal, tax, tip, total';
export const ITEM_COLUMNS = 'category, item_name, qty, extended_price, unit_price';

/** An UPDATE's orders whose contribution changed (transition tables old_rows, new_rows): the old row out, the new one in. */
export const CHANGED_ORDERS = `
  SELECT -1 AS sign, o.order_ts, o.location_code, o.service_type, o.subtotal, o.tax, o.tip, o.total
  FROM old_rows o JOIN new_rows n USING (order_id)
  WHERE (o.${ORDER_COLUMNS.split(', ').join(', o.')}) IS DISTINCT FROM (n.${ORDER_COLUMNS.split(', ').join(', n.')})
  UNION ALL
  SELECT 1, n.order_ts, n.location_code, n.service_type, n.subtotal, n.tax, n.tip, n.total
  FROM old_rows o JOIN new_rows n USING (order_id)
  WHERE (o.${ORDER_COLUMNS.split(', ').join(', o.')}) IS DISTINCT FROM (n.${ORDER_COLUMNS.split(', ').join(', n.')})`;

/** The items of orders an UPDATE made paid or unpaid, or moved to another day, with their signed change of day. */
export const ITEMS_OF_CHANGED_ORDERS = `
  WITH moved AS (
    SELECT o.order_id,
           CASE WHEN o.total IS NOT NULL THEN ${utcDay('o.order_ts')} END AS old_day,
           CASE WHEN n.total IS NOT NULL THEN ${utcDay('n.order_ts')} END AS new_day
    FROM old_rows o JOIN new_rows n USING (order_id)
  )
  SELECT -1 AS sign, m.old_day AS day, i.${ITEM_COLUMNS.split(', ').join(', i.')}
  FROM moved m JOIN analytics.order_items i USING (order_id)
  WHERE m.old_day IS DISTINCT FROM m.new_day AND m.old_day IS NOT NULL
  UNION ALL
  SELECT 1, m.new_day, i.${ITEM_COLUMNS.split(', ').join(', i.')}
  FROM moved m JOIN analytics.order_items i USING (order_id)
  WHERE m.old_day IS DISTINCT FROM m.new_day AND m.new_day IS NOT NULL`;

/**
 * `orders_of`: the orders of `items`. Those another transaction wrote are read FOR SHARE in key order
 * (see the header): a concurrent payment of one of them commits first, or waits for us. Orders this
 * transaction wrote (an order and its items in one batch, the usual case) no one else can be paying,
 * so they are read without a lock, which would cost a WAL record per order.
 */
export const ordersOf = (items: string) => `
  own_orders AS (
    SELECT o.order_id, o.order_ts, o.total FROM analytics.orders o
    WHERE o.order_id IN (SELECT order_id FROM ${items}) AND o.xmin = pg_current_xact_id()::xid
  ),
  others_orders AS MATERIALIZED (
    SELECT o.order_id, o.order_ts, o.total FROM analytics.orders o
    WHERE o.order_id IN (SELECT order_id FROM ${items}) AND o.xmin <> pg_current_xact_id()::xid
    ORDER BY o.order_id
    FOR SHARE
  ),
  orders_of AS (SELECT * FROM own_orders UNION ALL SELECT * FROM others_orders)`;

/** The three rollup tables. */
async function createRollupTables(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE analytics.sales_hourly_rollup (
      grain         text        NOT NULL CHECK (grain IN ('location_service', 'location', 'service_type', 'all')),
      hour          timestamptz NOT NULL,
      location_code text        NOT NULL,
      service_type  text        NOT NULL,
      slot          smallint    NOT NULL,
      order_count   bigint      NOT NULL,
      subtotal_cents bigint     NOT NULL,
      tax_cents     bigint      NOT NULL,
      tip_cents     bigint      NOT NULL,
      total_cents   bigint      NOT NULL,
      PRIMARY KEY (grain, hour, location_code, service_type, slot)
    ) WITH (fillfactor = 70);
    COMMENT ON TABLE analytics.sales_hourly_rollup IS 'Paid orders by the UTC hour they were placed, location and service type, with their money in cents, at four grains (grain; location_code and/or service_type ''*'' = all); one row per writer slot (the views sum the slots). Kept by triggers on analytics.orders.';

    CREATE TABLE analytics.menu_daily_rollup (
      day            date     NOT NULL,
      category       text     NOT NULL,
      item_name      text     NOT NULL,
      slot           smallint NOT NULL,
      times_ordered  bigint   NOT NULL,
      quantity       bigint   NOT NULL,
      revenue_cents    bigint NOT NULL,
      unit_price_cents bigint NOT NULL,
      PRIMARY KEY (day, category, item_name, slot)
    ) WITH (fillfactor = 70);
    COMMENT ON TABLE analytics.menu_daily_rollup IS 'Order lines of paid orders by the UTC day their order was placed, category and item; one row per writer slot. Kept by triggers on analytics.order_items and analytics.orders.';

    CREATE TABLE analytics.feedback_hourly_rollup (
      hour            timestamptz NOT NULL,
      slot            smallint    NOT NULL,
      feedback_count  bigint      NOT NULL,
      rating_sum      bigint      NOT NULL,
      nps_sum         bigint      NOT NULL,
      satisfied_count bigint      NOT NULL,
      promoter_count  bigint      NOT NULL,
      detractor_count bigint      NOT NULL,
      PRIMARY KEY (hour, slot)
    ) WITH (fillfactor = 70);
    COMMENT ON TABLE analytics.feedback_hourly_rollup IS 'Feedback with both a rating and an nps by the UTC hour it was created; one row per writer slot. Kept by triggers on analytics.feedback.';

  `.execute(db);
}

/** Claiming a writer slot, and taking all of them (rebuilds). */
async function createSlotFunctions(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION analytics.rollup_slot() RETURNS smallint
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      claimed text := nullif(current_setting('analytics.rollup_slot', true), '');
      candidate integer;
    BEGIN
      IF claimed IS NOT NULL THEN
        RETURN claimed::smallint;
      END IF;
      FOR candidate IN 0 .. ${sql.lit(ROLLUP_SLOTS - 1)} LOOP
        IF pg_try_advisory_xact_lock(${sql.lit(ROLLUP_LOCK_CLASS)}, candidate) THEN
          PERFORM set_config('analytics.rollup_slot', candidate::text, true);
          RETURN candidate;
        END IF;
      END LOOP;
      -- Every slot busy: wait for one. A writer holds at most one slot, so this wait cannot deadlock.
      candidate := pg_backend_pid() % ${sql.lit(ROLLUP_SLOTS)};
      PERFORM pg_advisory_xact_lock(${sql.lit(ROLLUP_LOCK_CLASS)}, candidate);
      PERFORM set_config('analytics.rollup_slot', candidate::text, true);
      RETURN candidate;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_slot() IS 'The rollup slot of the current transaction: the first free one, claimed with a transaction-level advisory lock';

    CREATE FUNCTION analytics.rollup_lock_all_slots() RETURNS void
    LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
      FOR candidate IN 0 .. ${sql.lit(ROLLUP_SLOTS - 1)} LOOP
        PERFORM pg_advisory_xact_lock(${sql.lit(ROLLUP_LOCK_CLASS)}, candidate);
      END LOOP;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_lock_all_slots() IS 'Waits for every rollup writer to commit and keeps new ones out until this transaction ends (rebuilds)';
  `.execute(db);
}

/** The trigger functions and the triggers that keep the rollups in step with the facts. */
async function createRollupTriggers(db: Kysely<unknown>): Promise<void> {
  // Trigger functions. A plpgsql statement is planned when first run, so each branch may name only
  // the transition tables of its own operation.
  await sql`
    CREATE FUNCTION analytics.rollup_orders_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${sql.raw(addSales(`SELECT 1 AS sign, ${ORDER_COLUMNS} FROM new_rows`))};
      ELSIF TG_OP = 'UPDATE' THEN
        -- Only rows whose contribution changed: a payment's UPDATE moves its order in, a no-op moves nothing.
        ${sql.raw(addSales(CHANGED_ORDERS))};
        -- An order that became paid brings the items it already has into the menu rollup (one that
        -- stopped being paid, or moved to another day, moves them); later items count by their own trigger.
        ${sql.raw(addMenu(ITEMS_OF_CHANGED_ORDERS))};
      ELSE
        -- DELETE (by hand only: ingestion never deletes facts); the items left in rollup_order_deleting().
        ${sql.raw(addSales(`SELECT -1 AS sign, ${ORDER_COLUMNS} FROM old_rows`))};
      END IF;
      RETURN NULL;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_orders_changed() IS 'Statement-level trigger: moves sales_hourly_rollup by the orders the statement changed, and menu_daily_rollup by the items of orders that became paid';

    -- Row-level and BEFORE: by the time an AFTER trigger runs, ON DELETE CASCADE has removed a deleted
    -- order's items, so a paid order takes its items out of the menu rollup here.
    CREATE FUNCTION analytics.rollup_order_deleting() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.total IS NOT NULL THEN
        ${sql.raw(addMenu(`SELECT -1 AS sign, ${utcDay('OLD.order_ts')} AS day, ${ITEM_COLUMNS} FROM analytics.order_items WHERE order_id = OLD.order_id`))};
      END IF;
      RETURN OLD;
    END
    $$;

    CREATE FUNCTION analytics.rollup_order_items_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${sql.raw(
          addMenu(`
          WITH ${ordersOf('new_rows')}
          SELECT 1 AS sign, ${utcDay('o.order_ts')} AS day, i.${ITEM_COLUMNS.split(', ').join(', i.')}
          FROM new_rows i JOIN orders_of o USING (order_id)
          WHERE o.total IS NOT NULL`),
        )};
      ELSIF TG_OP = 'UPDATE' THEN
        ${sql.raw(
          addMenu(`
          WITH ${ordersOf('(SELECT order_id FROM old_rows UNION SELECT order_id FROM new_rows) AS changed')}
          SELECT -1 AS sign, ${utcDay('o.order_ts')} AS day, i.${ITEM_COLUMNS.split(', ').join(', i.')}
          FROM old_rows i JOIN orders_of o USING (order_id)
          WHERE o.total IS NOT NULL
          UNION ALL
          SELECT 1, ${utcDay('o.order_ts')}, i.${ITEM_COLUMNS.split(', ').join(', i.')}
          FROM new_rows i JOIN orders_of o USING (order_id)
          WHERE o.total IS NOT NULL`),
        )};
      ELSE
        -- Items deleted with their order left already, in rollup_order_deleting().
        ${sql.raw(
          addMenu(`
          SELECT -1 AS sign, ${utcDay('o.order_ts')} AS day, i.${ITEM_COLUMNS.split(', ').join(', i.')}
          FROM old_rows i JOIN analytics.orders o USING (order_id)
          WHERE o.total IS NOT NULL`),
        )};
      END IF;
      RETURN NULL;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_order_items_changed() IS 'Statement-level trigger: moves menu_daily_rollup by the items of paid orders the statement changed';

    CREATE FUNCTION analytics.rollup_feedback_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        ${sql.raw(addFeedback('SELECT 1 AS sign, created_ts, rating, nps FROM new_rows'))};
      ELSIF TG_OP = 'UPDATE' THEN
        ${sql.raw(addFeedback('SELECT -1 AS sign, created_ts, rating, nps FROM old_rows UNION ALL SELECT 1, created_ts, rating, nps FROM new_rows'))};
      ELSE
        ${sql.raw(addFeedback('SELECT -1 AS sign, created_ts, rating, nps FROM old_rows'))};
      END IF;
      RETURN NULL;
    END
    $$;
    COMMENT ON FUNCTION analytics.rollup_feedback_changed() IS 'Statement-level trigger: moves feedback_hourly_rollup by the feedback the statement changed';

    CREATE FUNCTION analytics.rollup_facts_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_TABLE_NAME = 'orders' THEN
        TRUNCATE analytics.sales_hourly_rollup, analytics.menu_daily_rollup;
      ELSIF TG_TABLE_NAME = 'order_items' THEN
        TRUNCATE analytics.menu_daily_rollup;
      ELSE
        TRUNCATE analytics.feedback_hourly_rollup;
      END IF;
      RETURN NULL;
    END
    $$;
  `.execute(db);

  for (const { table, fn } of TRIGGERED) {
    const target = sql.raw(`analytics.${table}`);
    const functionName = sql.raw(`analytics.${fn}()`);
    await sql`
      CREATE TRIGGER ${sql.raw(`rollup_${table}_insert`)} AFTER INSERT ON ${target}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${functionName};
      CREATE TRIGGER ${sql.raw(`rollup_${table}_update`)} AFTER UPDATE ON ${target}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${functionName};
      CREATE TRIGGER ${sql.raw(`rollup_${table}_delete`)} AFTER DELETE ON ${target}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${functionName};
      CREATE TRIGGER ${sql.raw(`rollup_${table}_truncate`)} AFTER TRUNCATE ON ${target}
        FOR EACH STATEMENT EXECUTE FUNCTION analytics.rollup_facts_truncated();
    `.execute(db);
  }
  await sql`
    CREATE TRIGGER rollup_orders_deleting BEFORE DELETE ON analytics.orders
      FOR EACH ROW EXECUTE FUNCTION analytics.rollup_order_deleting();
  `.execute(db);
}

/** Recomputing the rollups from the facts, and finding where they differ. */
async function createRebuildFunctions(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE FUNCTION analytics.rebuild_rollups(p_from timestamptz, p_to timestamptz) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      from_day constant date := ${sql.raw(utcDay('p_from'))};
      to_day   constant date := ${sql.raw(utcDay('p_to'))};
      sales_rows bigint;
      menu_rows bigint;
      feedback_rows bigint;
    BEGIN
      IF p_from IS NULL OR p_to IS NULL OR p_to <= p_from
         OR p_from <> date_trunc('day', p_from, 'UTC') OR p_to <> date_trunc('day', p_to, 'UTC') THEN
        RAISE EXCEPTION 'rebuild_rollups needs a range of whole UTC days, got % to %', p_from, p_to;
      END IF;
      PERFORM analytics.rollup_lock_all_slots();
      -- From here on every statement sees every writer that held a slot, and none writes until commit.
      DELETE FROM analytics.sales_hourly_rollup WHERE hour >= p_from AND hour < p_to;
      INSERT INTO analytics.sales_hourly_rollup (grain, hour, location_code, service_type, slot, order_count, subtotal_cents, tax_cents, tip_cents, total_cents)
      ${sql.raw(
        salesAtEveryGrain(
          `SELECT 1 AS sign, ${utcHour('order_ts')} AS hour, location_code, service_type, subtotal, tax, tip, total
           FROM analytics.orders WHERE total IS NOT NULL AND order_ts >= p_from AND order_ts < p_to`,
          '0',
        ),
      )};
      GET DIAGNOSTICS sales_rows = ROW_COUNT;

      DELETE FROM analytics.menu_daily_rollup WHERE day >= from_day AND day < to_day;
      INSERT INTO analytics.menu_daily_rollup (day, category, item_name, slot, times_ordered, quantity, revenue_cents, unit_price_cents)
      SELECT ${sql.raw(utcDay('o.order_ts'))}, i.category, i.item_name, 0,
             count(*), sum(i.qty), ${sql.raw(cents('sum(i.extended_price)'))}, ${sql.raw(cents('sum(i.unit_price)'))}
      FROM analytics.orders o JOIN analytics.order_items i USING (order_id)
      WHERE o.total IS NOT NULL AND o.order_ts >= p_from AND o.order_ts < p_to
      GROUP BY 1, 2, 3
      ORDER BY 1, 2, 3;
      GET DIAGNOSTICS menu_rows = ROW_COUNT;

      DELETE FROM analytics.feedback_hourly_rollup WHERE hour >= p_from AND hour < p_to;
      INSERT INTO analytics.feedback_hourly_rollup (hour, slot, feedback_count, rating_sum, nps_sum, satisfied_count, promoter_count, detractor_count)
      SELECT ${sql.raw(utcHour('created_ts'))}, 0, count(*), sum(rating), sum(nps),
             count(*) FILTER (WHERE rating >= 4), count(*) FILTER (WHERE nps >= 9), count(*) FILTER (WHERE nps <= 6)
      FROM analytics.feedback
      WHERE rating IS NOT NULL AND nps IS NOT NULL AND created_ts >= p_from AND created_ts < p_to
      GROUP BY 1
      ORDER BY 1;
      GET DIAGNOSTICS feedback_rows = ROW_COUNT;

      RETURN jsonb_build_object('sales_rows', sales_rows, 'menu_rows', menu_rows, 'feedback_rows', feedback_rows);
    END
    $$;
    COMMENT ON FUNCTION analytics.rebuild_rollups(timestamptz, timestamptz) IS 'Recomputes every rollup for whole UTC days [p_from, p_to) from the facts, in the caller''s transaction, excluding rollup writers until it commits';

    CREATE FUNCTION analytics.rollup_discrepancies(p_since timestamptz)
    RETURNS TABLE (rollup text, rollup_key text)
    LANGUAGE sql STABLE AS $$
      WITH since AS (SELECT ${sql.raw(utcHour('p_since'))} AS hour, ${sql.raw(utcDay('p_since'))} AS day),
      sales_facts AS (
        SELECT grain, hour, location_code, service_type, order_count, subtotal, tax, tip, total
        FROM (${sql.raw(
          salesAtEveryGrain(
            `SELECT 1 AS sign, ${utcHour('order_ts')} AS hour, location_code, service_type, subtotal, tax, tip, total
             FROM analytics.orders, since WHERE total IS NOT NULL AND order_ts >= since.hour`,
            '0',
          ),
        )}) AS f (grain, hour, location_code, service_type, slot, order_count, subtotal, tax, tip, total)
      ),
      sales_rollup AS (
        SELECT grain, r.hour, location_code, service_type, sum(order_count) AS order_count, sum(subtotal_cents) AS subtotal, sum(tax_cents) AS tax, sum(tip_cents) AS tip, sum(total_cents) AS total
        FROM analytics.sales_hourly_rollup r, since
        WHERE r.hour >= since.hour
        GROUP BY 1, 2, 3, 4
        HAVING sum(order_count) <> 0 OR sum(total_cents) <> 0
      ),
      menu_facts AS (
        SELECT ${sql.raw(utcDay('o.order_ts'))} AS day, i.category, i.item_name,
               count(*) AS times_ordered, sum(i.qty) AS quantity, ${sql.raw(cents('sum(i.extended_price)'))} AS revenue, ${sql.raw(cents('sum(i.unit_price)'))} AS unit_price_sum
        FROM analytics.orders o JOIN analytics.order_items i USING (order_id), since
        WHERE o.total IS NOT NULL AND o.order_ts >= since.day
        GROUP BY 1, 2, 3
      ),
      menu_rollup AS (
        SELECT r.day, category, item_name, sum(times_ordered) AS times_ordered, sum(quantity) AS quantity, sum(revenue_cents) AS revenue, sum(unit_price_cents) AS unit_price_sum
        FROM analytics.menu_daily_rollup r, since
        WHERE r.day >= since.day
        GROUP BY 1, 2, 3
        HAVING sum(times_ordered) <> 0 OR sum(revenue_cents) <> 0
      ),
      feedback_facts AS (
        SELECT ${sql.raw(utcHour('created_ts'))} AS hour, count(*) AS feedback_count, sum(rating) AS rating_sum, sum(nps) AS nps_sum,
               count(*) FILTER (WHERE rating >= 4) AS satisfied, count(*) FILTER (WHERE nps >= 9) AS promoters, count(*) FILTER (WHERE nps <= 6) AS detractors
        FROM analytics.feedback, since
        WHERE rating IS NOT NULL AND nps IS NOT NULL AND created_ts >= since.hour
        GROUP BY 1
      ),
      feedback_rollup AS (
        SELECT r.hour, sum(feedback_count) AS feedback_count, sum(rating_sum) AS rating_sum, sum(nps_sum) AS nps_sum,
               sum(satisfied_count) AS satisfied, sum(promoter_count) AS promoters, sum(detractor_count) AS detractors
        FROM analytics.feedback_hourly_rollup r, since
        WHERE r.hour >= since.hour
        GROUP BY 1
        HAVING sum(feedback_count) <> 0
      )
      SELECT 'sales_hourly_rollup', format('%s/%s/%s/%s', coalesce(f.grain, r.grain), to_char(coalesce(f.hour, r.hour) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"Z"'), coalesce(f.location_code, r.location_code), coalesce(f.service_type, r.service_type))
      FROM sales_facts f FULL JOIN sales_rollup r USING (grain, hour, location_code, service_type)
      WHERE (f.order_count, f.subtotal, f.tax, f.tip, f.total) IS DISTINCT FROM (r.order_count, r.subtotal, r.tax, r.tip, r.total)
      UNION ALL
      SELECT 'menu_daily_rollup', format('%s/%s/%s', coalesce(f.day, r.day), coalesce(f.category, r.category), coalesce(f.item_name, r.item_name))
      FROM menu_facts f FULL JOIN menu_rollup r USING (day, category, item_name)
      WHERE (f.times_ordered, f.quantity, f.revenue, f.unit_price_sum) IS DISTINCT FROM (r.times_ordered, r.quantity, r.revenue, r.unit_price_sum)
      UNION ALL
      SELECT 'feedback_hourly_rollup', to_char(coalesce(f.hour, r.hour) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24"Z"')
      FROM feedback_facts f FULL JOIN feedback_rollup r USING (hour)
      WHERE (f.feedback_count, f.rating_sum, f.nps_sum, f.satisfied, f.promoters, f.detractors)
            IS DISTINCT FROM (r.feedback_count, r.rating_sum, r.nps_sum, r.satisfied, r.promoters, r.detractors)
    $$;
    COMMENT ON FUNCTION analytics.rollup_discrepancies(timestamptz) IS 'Rollup keys from p_since on (whole UTC hours, or days for the menu) whose summed slots differ from the same aggregate over the facts; none when the rollups are exact';
    REVOKE EXECUTE ON FUNCTION analytics.rebuild_rollups(timestamptz, timestamptz) FROM PUBLIC;
  `.execute(db);
}

/** validate_data_consistency() with its rollup check. */
async function createConsistencyCheck(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION analytics.validate_data_consistency(
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
          (11, 'orders_with_multiple_payments', 'orders paid more than once'),
          (12, 'rollups_out_of_step',           'rollup keys of the last 48 hours that differ from the same aggregate over the facts')
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
        UNION ALL
        SELECT 'rollups_out_of_step', d.rollup || ':' || d.rollup_key
        FROM analytics.rollup_discrepancies(now() - interval '48 hours') d
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
  `.execute(db);
}

/** The reporting views over the rollups. */
async function createRollupViews(db: Kysely<unknown>): Promise<void> {
  // The views keep their names, columns, types and meaning; each reads its rollup. "hour" is the UTC
  // hour itself (equal to date_trunc('hour', …) in whole-hour zones) so a filter on it reaches the
  // rollup's primary key.
  await sql`
    CREATE OR REPLACE VIEW analytics.hourly_sales AS
    SELECT r.hour,
           r.location_code,
           r.service_type,
           sum(r.order_count)::bigint                                AS order_count,
           sum(r.subtotal_cents) * 0.01                              AS subtotal,
           sum(r.tax_cents) * 0.01                                   AS tax,
           sum(r.tip_cents) * 0.01                                   AS tip,
           sum(r.total_cents) * 0.01                                 AS total,
           round(sum(r.total_cents) * 0.01 / sum(r.order_count), 2)  AS avg_order_value
    FROM analytics.sales_hourly_rollup r
    WHERE r.grain = 'location_service'
    GROUP BY r.hour, r.location_code, r.service_type
    HAVING sum(r.order_count) <> 0
    ORDER BY r.hour DESC;

    -- Day by day from the days the rollup spans, each day's hours read by their range: a filter on
    -- "day" (every 30-day card has one) then skips the other days instead of bucketing every hour.
    CREATE OR REPLACE VIEW analytics.daily_sales AS
    SELECT d.day,
           s.location_code,
           s.order_count,
           s.total_revenue,
           s.avg_order_value,
           s.total_tips,
           s.avg_tip
    FROM (SELECT generate_series(date_trunc('day', min(hour)), max(hour), interval '1 day') AS day FROM analytics.sales_hourly_rollup WHERE grain = 'all') AS d
    CROSS JOIN LATERAL (
      SELECT r.location_code,
             sum(r.order_count)::bigint                               AS order_count,
             sum(r.total_cents) * 0.01                                AS total_revenue,
             round(sum(r.total_cents) * 0.01 / sum(r.order_count), 2) AS avg_order_value,
             sum(r.tip_cents) * 0.01                                  AS total_tips,
             round(sum(r.tip_cents) * 0.01 / sum(r.order_count), 2)   AS avg_tip
      FROM analytics.sales_hourly_rollup r
      WHERE r.hour >= d.day AND r.hour < d.day + interval '1 day' AND r.grain = 'location'
      GROUP BY r.location_code
      HAVING sum(r.order_count) <> 0
    ) AS s
    ORDER BY d.day DESC, s.location_code;

    CREATE OR REPLACE VIEW analytics.menu_performance AS
    SELECT r.category,
           r.item_name,
           sum(r.times_ordered)::bigint                                   AS times_ordered,
           sum(r.quantity)::bigint                                        AS total_quantity_sold,
           sum(r.revenue_cents) * 0.01                                    AS total_revenue,
           round(sum(r.unit_price_cents) * 0.01 / sum(r.times_ordered), 2) AS avg_unit_price,
           round(sum(r.revenue_cents) * 0.01 / sum(r.times_ordered), 2)    AS avg_extended_price
    FROM analytics.menu_daily_rollup r
    GROUP BY r.category, r.item_name
    HAVING sum(r.times_ordered) <> 0
    ORDER BY total_revenue DESC;

    CREATE VIEW analytics.hourly_sales_totals AS
    SELECT r.grain,
           r.hour,
           nullif(r.location_code, ${sql.raw(ALL)})                AS location_code,
           nullif(r.service_type, ${sql.raw(ALL)})                 AS service_type,
           sum(r.order_count)::bigint                                AS order_count,
           sum(r.subtotal_cents) * 0.01                              AS subtotal,
           sum(r.tax_cents) * 0.01                                   AS tax,
           sum(r.tip_cents) * 0.01                                   AS tip,
           sum(r.total_cents) * 0.01                                 AS total
    FROM analytics.sales_hourly_rollup r
    GROUP BY r.grain, r.hour, r.location_code, r.service_type
    HAVING sum(r.order_count) <> 0;
    COMMENT ON VIEW analytics.hourly_sales_totals IS 'Paid orders per hour (as hourly_sales) at every grain: location_service (by location and service type, as hourly_sales), location (service_type null), service_type (location_code null), all (both null). Filter on grain: the dashboards read the coarse rows, so a 30-day number sums 720 rows instead of 26,000.';

    CREATE OR REPLACE VIEW analytics.satisfaction_summary AS
    SELECT date_trunc('day', r.hour)                                            AS day,
           sum(r.feedback_count)::bigint                                        AS feedback_count,
           round(sum(r.rating_sum) / sum(r.feedback_count), 2)                  AS avg_rating,
           round(sum(r.nps_sum) / sum(r.feedback_count), 2)                     AS avg_nps,
           round(sum(r.satisfied_count) * 100.0 / sum(r.feedback_count), 2)     AS satisfaction_rate,
           round(sum(r.promoter_count) * 100.0 / sum(r.feedback_count), 2)      AS promoter_rate,
           round(sum(r.detractor_count) * 100.0 / sum(r.feedback_count), 2)     AS detractor_rate
    FROM analytics.feedback_hourly_rollup r
    GROUP BY date_trunc('day', r.hour)
    HAVING sum(r.feedback_count) <> 0
    ORDER BY day DESC;
  `.execute(db);
}

/** An existing warehouse: fill the rollups from its facts. */
async function fillRollupsFromFacts(db: Kysely<unknown>): Promise<void> {
  // An existing warehouse: fill the rollups from its facts (restaurant-stack rollups rebuild does the same in chunks).
  await sql`
    SELECT analytics.rebuild_rollups(date_trunc('day', first, 'UTC'), date_trunc('day', last, 'UTC') + interval '1 day')
    FROM (SELECT least((SELECT min(order_ts) FROM analytics.orders), (SELECT min(created_ts) FROM analytics.feedback)) AS first,
                 greatest((SELECT max(order_ts) FROM analytics.orders), (SELECT max(created_ts) FROM analytics.feedback)) AS last) AS facts
    WHERE first IS NOT NULL
  `.execute(db);
}

/**
 * The rollups as this migration leaves them, on a warehouse that has its slot functions: tables,
 * triggers, rebuild, views, filled from the facts. A later migration that replaces them goes back here.
 */
export async function installRollups(db: Kysely<unknown>): Promise<void> {
  await createRollupTables(db);
  await createRollupTriggers(db);
  await createRebuildFunctions(db);
  await createRollupViews(db);
  await fillRollupsFromFacts(db);
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await createRollupTables(db);
  await sql`
    -- Lets a rebuild chunk and the consistency check find a time range of feedback without reading it all.
    CREATE INDEX feedback_created_ts_brin ON analytics.feedback USING brin (created_ts) WITH (autosummarize = on);
    -- Lets a reprocess run read the raw trail by event time, chunk by chunk.
    CREATE INDEX events_raw_ts_brin ON raw_data.events_raw USING brin (ts) WITH (autosummarize = on);
  `.execute(db);
  await createSlotFunctions(db);
  await createRollupTriggers(db);
  await createRebuildFunctions(db);
  await createConsistencyCheck(db);
  await createRollupViews(db);
  await fillRollupsFromFacts(db);
}

const TRIGGERED = [
  { table: 'orders', fn: 'rollup_orders_changed' },
  { table: 'order_items', fn: 'rollup_order_items_changed' },
  { table: 'feedback', fn: 'rollup_feedback_changed' },
] as const;

export async function down(db: Kysely<unknown>): Promise<void> {
  // The views and functions of 0006 and 0007 as they were, recreated by those migrations themselves.
  await sql`
    DROP VIEW analytics.hourly_sales_totals, analytics.ingestion_status, analytics.satisfaction_summary, analytics.menu_performance, analytics.daily_sales, analytics.hourly_sales;
    DROP FUNCTION analytics.health_check(interval, interval, bigint, bigint, bigint, bigint, interval, numeric, numeric);
    DROP FUNCTION analytics.validate_data_consistency(interval, integer);
    DROP FUNCTION analytics.calculate_order_metrics(uuid);
    DROP FUNCTION analytics.get_latest_offset(text);
  `.execute(db);
  await reportingViews.up(db);
  await healthFunctions.up(db);
  for (const { table } of TRIGGERED) {
    for (const operation of ['insert', 'update', 'delete', 'truncate']) {
      await sql`DROP TRIGGER ${sql.raw(`rollup_${table}_${operation}`)} ON ${sql.raw(`analytics.${table}`)}`.execute(db);
    }
  }
  await sql`
    DROP TRIGGER rollup_orders_deleting ON analytics.orders;
    DROP FUNCTION analytics.rollup_discrepancies(timestamptz);
    DROP FUNCTION analytics.rebuild_rollups(timestamptz, timestamptz);
    DROP FUNCTION analytics.rollup_facts_truncated();
    DROP FUNCTION analytics.rollup_feedback_changed();
    DROP FUNCTION analytics.rollup_order_items_changed();
    DROP FUNCTION analytics.rollup_order_deleting();
    DROP FUNCTION analytics.rollup_orders_changed();
    DROP FUNCTION analytics.rollup_lock_all_slots();
    DROP FUNCTION analytics.rollup_slot();
    DROP INDEX raw_data.events_raw_ts_brin;
    DROP INDEX analytics.feedback_created_ts_brin;
    DROP TABLE analytics.feedback_hourly_rollup;
    DROP TABLE analytics.menu_daily_rollup;
    DROP TABLE analytics.sales_hourly_rollup;
  `.execute(db);
}
