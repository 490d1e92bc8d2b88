import type pg from 'pg';

const DAY_MS = 86_400_000;

export interface RollupRebuildChunk {
  /** The UTC day recomputed, YYYY-MM-DD. */
  readonly day: string;
  readonly salesRows: number;
  readonly menuRows: number;
  readonly feedbackRows: number;
  /** Days done so far, and in all. */
  readonly done: number;
  readonly of: number;
}

export interface RollupRebuildReport {
  readonly from: string | null;
  readonly to: string | null;
  readonly days: number;
  readonly seconds: number;
}

export interface RollupRebuildOptions {
  /** First day (UTC) to recompute; default: the earliest fact or rollup row. */
  readonly from?: Date;
  /** Day (UTC) to stop before; default: the day after the latest fact or rollup row. */
  readonly to?: Date;
  readonly onChunk?: (chunk: RollupRebuildChunk) => void;
}

const floorToUtcDay = (time: Date) => new Date(Math.floor(time.getTime() / DAY_MS) * DAY_MS);
const ceilToUtcDay = (time: Date) => new Date(Math.ceil(time.getTime() / DAY_MS) * DAY_MS);

/** The span of every fact and rollup row, so a rebuild also clears rollup rows whose facts are gone. */
async function warehouseSpan(db: pg.Pool | pg.ClientBase): Promise<{ first: Date | null; last: Date | null }> {
  const { rows } = await db.query<{ first: Date | null; last: Date | null }>(
    `SELECT least((SELECT min(order_ts) FROM analytics.orders), (SELECT min(created_ts) FROM analytics.feedback),
                  (SELECT min(hour) FROM analytics.sales_hourly_rollup), (SELECT min(hour) FROM analytics.feedback_hourly_rollup),
                  (SELECT min(day)::timestamp AT TIME ZONE 'UTC' FROM analytics.menu_daily_rollup)) AS first,
            greatest((SELECT max(order_ts) FROM analytics.orders), (SELECT max(created_ts) FROM analytics.feedback),
                     (SELECT max(hour) FROM analytics.sales_hourly_rollup), (SELECT max(hour) FROM analytics.feedback_hourly_rollup),
                     (SELECT max(day)::timestamp AT TIME ZONE 'UTC' FROM analytics.menu_daily_rollup)) AS last`,
  );
  return rows[0]!;
}

/**
 * Recomputes every rollup from the fact tables, one UTC day per transaction (analytics.rebuild_rollups).
 * Idempotent, and safe while ingestion runs: each day's transaction waits for the writers holding a
 * rollup slot and holds new ones back only for that day.
 */
export async function rebuildRollups(db: pg.Pool | pg.ClientBase, options: RollupRebuildOptions = {}): Promise<RollupRebuildReport> {
  const started = Date.now();
  const span = options.from && options.to ? { first: options.from, last: options.to } : await warehouseSpan(db);
  const first = options.from ?? span.first;
  const last = options.to ?? span.last;
  if (!first || !last) return { from: null, to: null, days: 0, seconds: 0 };
  const from = floorToUtcDay(first);
  // A `to` that is already a day boundary stays exclusive; the latest row's day is included.
  const to = options.to ? ceilToUtcDay(options.to) : new Date(floorToUtcDay(last).getTime() + DAY_MS);
  if (to <= from) throw new Error(`rollups rebuild: --to (${to.toISOString()}) must come after --from (${from.toISOString()})`);
  const days = Math.round((to.getTime() - from.getTime()) / DAY_MS);
  for (let done = 0; done < days; done += 1) {
    const dayStart = new Date(from.getTime() + done * DAY_MS);
    const { rows } = await db.query<{ result: { sales_rows: number; menu_rows: number; feedback_rows: number } }>(
      'SELECT analytics.rebuild_rollups($1, $2) AS result',
      [dayStart, new Date(dayStart.getTime() + DAY_MS)],
    );
    const result = rows[0]!.result;
    options.onChunk?.({
      day: dayStart.toISOString().slice(0, 10),
      salesRows: result.sales_rows,
      menuRows: result.menu_rows,
      feedbackRows: result.feedback_rows,
      done: done + 1,
      of: days,
    });
  }
  return { from: from.toISOString(), to: to.toISOString(), days, seconds: (Date.now() - started) / 1000 };
}
