import type pg from 'pg';

export interface RollupRebuildChunk {
  /** The UTC months brought to their facts, YYYY-MM (the first and the last). */
  readonly months: readonly [string, string];
  /** Keys whose sums differed from the facts and were corrected, per rollup. */
  readonly salesKeys: number;
  readonly locationKeys: number;
  readonly menuKeys: number;
  readonly feedbackKeys: number;
  /** Chunks done so far, and in all. */
  readonly done: number;
  readonly of: number;
}

export interface RollupRebuildReport {
  /** First day of the first month, and of the month after the last; null when there is nothing. */
  readonly from: string | null;
  readonly to: string | null;
  readonly months: number;
  readonly chunks: number;
  /** Keys corrected in all. */
  readonly corrected: number;
  readonly seconds: number;
}

export interface RollupRebuildOptions {
  /** A day in the first month to bring to its facts; default: the earliest fact or rollup row. */
  readonly from?: Date;
  /** Day to stop before (its month is included unless it is the month's first day); default: after the latest. */
  readonly to?: Date;
  readonly onChunk?: (chunk: RollupRebuildChunk) => void;
}

/** A business day's orders lie up to two days either side of its date (a zone is at most 14 hours from UTC, a cut-off under a day). */
const MARGIN_MS = 2 * 86_400_000;
/**
 * Orders per transaction, in whole months: each reads every order item once to find the items of its
 * orders, so fewer, larger chunks are cheaper; none holds a lock anyone else waits for.
 */
const ORDERS_PER_CHUNK = 500_000;

const monthOf = (time: Date) => new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), 1));
const nextMonth = (month: Date) => new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
const isoDay = (time: Date) => time.toISOString().slice(0, 10);

/** The span of every fact and rollup row, so a rebuild also clears rollup rows whose facts are gone. */
async function warehouseSpan(db: pg.Pool | pg.ClientBase): Promise<{ first: Date | null; last: Date | null }> {
  const { rows } = await db.query<{ first: Date | null; last: Date | null }>(
    `SELECT least((SELECT min(order_ts) FROM analytics.orders), (SELECT min(created_ts) FROM analytics.feedback),
                  (SELECT min(quarter_hour) FROM analytics.sales_quarter_hour_rollup), (SELECT min(quarter_hour) FROM analytics.feedback_quarter_hour_rollup),
                  (SELECT min(business_day)::timestamp AT TIME ZONE 'UTC' FROM analytics.location_hourly_rollup),
                  (SELECT min(day)::timestamp AT TIME ZONE 'UTC' FROM analytics.menu_daily_rollup),
                  (SELECT min(month)::timestamp AT TIME ZONE 'UTC' FROM analytics.menu_monthly_rollup)) AS first,
            greatest((SELECT max(order_ts) FROM analytics.orders), (SELECT max(created_ts) FROM analytics.feedback),
                     (SELECT max(quarter_hour) FROM analytics.sales_quarter_hour_rollup), (SELECT max(quarter_hour) FROM analytics.feedback_quarter_hour_rollup),
                     (SELECT max(business_day)::timestamp AT TIME ZONE 'UTC' FROM analytics.location_hourly_rollup),
                     (SELECT max(day)::timestamp AT TIME ZONE 'UTC' FROM analytics.menu_daily_rollup),
                     (SELECT max(month)::timestamp AT TIME ZONE 'UTC' FROM analytics.menu_monthly_rollup)) AS last`,
  );
  return rows[0]!;
}

/** Consecutive months grouped into chunks of about ORDERS_PER_CHUNK orders (a month is never split). */
async function chunksOf(db: pg.Pool | pg.ClientBase, months: readonly Date[]): Promise<Array<[Date, Date]>> {
  const { rows } = await db.query<{ month: string; orders: string }>(
    `SELECT date_trunc('month', order_ts AT TIME ZONE 'UTC')::date::text AS month, count(*) AS orders FROM analytics.orders
     WHERE order_ts >= $1 AND order_ts < $2 GROUP BY 1`,
    [months[0], nextMonth(months.at(-1)!)],
  );
  const ordersIn = new Map(rows.map((row) => [row.month, Number(row.orders)]));
  const chunks: Array<[Date, Date]> = [];
  let orders = 0;
  for (const month of months) {
    const count = ordersIn.get(isoDay(month)) ?? 0;
    const current = chunks.at(-1);
    if (current && orders + count <= ORDERS_PER_CHUNK) {
      current[1] = nextMonth(month);
      orders += count;
    } else {
      chunks.push([month, nextMonth(month)]);
      orders = count;
    }
  }
  return chunks;
}

/**
 * Brings every rollup to the same aggregate over the fact tables, in chunks of whole UTC months, one
 * transaction each (analytics.rebuild_rollups): a chunk's differences are read in one snapshot and
 * added to the transaction's own writer slot, so it never waits for ingestion nor holds it up, and a
 * second run corrects nothing. A range given in days is widened to whole months.
 */
export async function rebuildRollups(db: pg.Pool | pg.ClientBase, options: RollupRebuildOptions = {}): Promise<RollupRebuildReport> {
  const started = Date.now();
  const span = options.from && options.to ? { first: options.from, last: options.to } : await warehouseSpan(db);
  const first = options.from ?? (span.first && new Date(span.first.getTime() - MARGIN_MS));
  const last = options.to ?? (span.last && new Date(span.last.getTime() + MARGIN_MS));
  if (!first || !last) return { from: null, to: null, months: 0, chunks: 0, corrected: 0, seconds: 0 };
  const from = monthOf(first);
  // A `to` on a month's first day stays exclusive; otherwise its month is included.
  const to = options.to && monthOf(options.to).getTime() === options.to.getTime() ? options.to : nextMonth(monthOf(last));
  if (to <= from) throw new Error(`rollups rebuild: --to (${isoDay(to)}) must come after --from (${isoDay(from)})`);
  const months: Date[] = [];
  for (let month = from; month < to; month = nextMonth(month)) months.push(month);
  const chunks = await chunksOf(db, months);
  let corrected = 0;
  for (const [index, [chunkFrom, chunkTo]] of chunks.entries()) {
    const { rows } = await db.query<{ result: { sales_keys: number; location_keys: number; menu_keys: number; feedback_keys: number } }>(
      'SELECT analytics.rebuild_rollups($1::date, $2::date) AS result',
      [isoDay(chunkFrom), isoDay(chunkTo)],
    );
    const result = rows[0]!.result;
    corrected += result.sales_keys + result.location_keys + result.menu_keys + result.feedback_keys;
    const lastMonth = new Date(Date.UTC(chunkTo.getUTCFullYear(), chunkTo.getUTCMonth() - 1, 1));
    options.onChunk?.({
      months: [isoDay(chunkFrom).slice(0, 7), isoDay(lastMonth).slice(0, 7)],
      salesKeys: result.sales_keys,
      locationKeys: result.location_keys,
      menuKeys: result.menu_keys,
      feedbackKeys: result.feedback_keys,
      done: index + 1,
      of: chunks.length,
    });
  }
  return { from: isoDay(from), to: isoDay(to), months: months.length, chunks: chunks.length, corrected, seconds: (Date.now() - started) / 1000 };
}
