import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLocations, LocationChangeRefused, setLocation } from '../../warehouse/locations.js';
import { rebuildRollups } from '../../warehouse/rollups.js';
import { expectViewsMatchFacts, rollupTotals } from '../rollups/equivalence.js';
import { migratedWarehouse, money, type MigratedWarehouse } from './support.js';

/*
 * Each location's business day, computed here with Intl (not by PostgreSQL) for orders placed on both
 * sides of daylight-saving changes and cut-offs; then the warehouse machinery that keeps it: zone
 * defaults, changes that re-derive, folds of write slots and closed months, and correcting rebuilds.
 */

interface PlacedOrder {
  readonly at: string;
  readonly location: string;
  readonly totalCents: number;
}

/** The local date an instant's business day started on, in `zone`, for a day that starts at `cutoff` (HH:MM). */
function businessDayOf(at: string, zone: string, cutoff: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(at))
      .map((part) => [part.type, part.value]),
  );
  const [hours, minutes] = cutoff.split(':').map(Number);
  const localWall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
  return new Date(localWall - (hours! * 60 + minutes!) * 60_000).toISOString().slice(0, 10);
}

const ZONES: Record<string, { zone: string; cutoff: string }> = {
  'LOC-ON-001': { zone: 'America/Toronto', cutoff: '04:00' },
  'LOC-NL-001': { zone: 'America/St_Johns', cutoff: '00:00' },
  'LOC-BC-001': { zone: 'America/Vancouver', cutoff: '00:00' },
  'LOC-IN-001': { zone: 'Asia/Kolkata', cutoff: '04:00' },
};

const orders: readonly PlacedOrder[] = [
  // Toronto, cut-off 04:00. Spring forward 2026-03-08 02:00 EST → 03:00 EDT: business day 03-07 runs
  // 09:00Z to 08:00Z next day, 23 hours.
  { at: '2026-03-07T08:59:00Z', location: 'LOC-ON-001', totalCents: 1000 },
  { at: '2026-03-07T09:00:00Z', location: 'LOC-ON-001', totalCents: 2000 },
  { at: '2026-03-08T07:59:00Z', location: 'LOC-ON-001', totalCents: 3000 },
  { at: '2026-03-08T08:00:00Z', location: 'LOC-ON-001', totalCents: 4000 },
  // Fall back 2026-11-01 02:00 EDT → 01:00 EST: business day 10-31 runs 08:00Z to 09:00Z next day, 25 hours.
  { at: '2026-10-31T08:00:00Z', location: 'LOC-ON-001', totalCents: 500 },
  { at: '2026-11-01T08:59:00Z', location: 'LOC-ON-001', totalCents: 600 },
  { at: '2026-11-01T09:00:00Z', location: 'LOC-ON-001', totalCents: 700 },
  // St. John's, midnight: spring forward 02:00 NST (−3:30) → 03:00 NDT (−2:30) on 03-08, a 23-hour day.
  { at: '2026-03-08T03:29:00Z', location: 'LOC-NL-001', totalCents: 110 },
  { at: '2026-03-08T03:30:00Z', location: 'LOC-NL-001', totalCents: 120 },
  { at: '2026-03-09T02:29:00Z', location: 'LOC-NL-001', totalCents: 130 },
  { at: '2026-03-09T02:30:00Z', location: 'LOC-NL-001', totalCents: 140 },
  // Vancouver, 9 pm: the next day already for a viewer in Toronto.
  { at: '2026-03-10T05:00:00Z', location: 'LOC-BC-001', totalCents: 2500 },
  // Kolkata (+5:30), cut-off 04:00 local.
  { at: '2026-03-08T22:29:00Z', location: 'LOC-IN-001', totalCents: 900 },
  { at: '2026-03-08T22:30:00Z', location: 'LOC-IN-001', totalCents: 800 },
];

describe('restaurant time', () => {
  let warehouse: MigratedWarehouse;
  let pool: pg.Pool;

  const insertPaidOrder = async (order: PlacedOrder, client: pg.Pool | pg.PoolClient = pool) => {
    const orderId = randomUUID();
    const cents = order.totalCents;
    await client.query(
      `INSERT INTO analytics.orders (order_id, visit_id, service_type, order_ts, location_code, subtotal, tax, tip, total)
       VALUES ($1, $2, 'dine_in', $3, $4, $5, 0, 0, $5)`,
      [orderId, randomUUID(), order.at, order.location, money(cents)],
    );
    await client.query(
      `INSERT INTO analytics.order_items (order_item_id, order_id, menu_item_id, category, item_name, unit_price, qty, extended_price)
       VALUES ($1, $2, NULL, 'burger', 'Burger ' || ($3::int % 3), $4, 1, $4)`,
      [randomUUID(), orderId, cents, money(cents)],
    );
    await client.query(
      `INSERT INTO analytics.feedback (feedback_id, order_id, customer_id, rating, nps, comment, created_ts)
       VALUES ($1, $2, NULL, 1 + $3::int % 5, $3::int % 11, NULL, $4::timestamptz + interval '20 minutes')`,
      [randomUUID(), orderId, cents / 10, order.at],
    );
    return orderId;
  };

  const businessDays = async () =>
    (
      await pool.query<{ business_day: string; location_code: string; time_zone: string; order_count: string; total_revenue: string }>(
        'SELECT business_day::text, location_code, time_zone, order_count, total_revenue FROM analytics.location_daily_sales ORDER BY 1, 2',
      )
    ).rows;

  beforeAll(async () => {
    warehouse = await migratedWarehouse('restaurant_time');
    pool = new pg.Pool({ connectionString: warehouse.database.url, max: 4 });
    await setLocation(warehouse.db, { code: 'LOC-IN-001', timeZone: 'Asia/Kolkata', businessDayStart: '04:00' });
    await setLocation(warehouse.db, { code: 'LOC-ON-001', businessDayStart: '04:00' });
    for (const order of orders) await insertPaidOrder(order);
  });
  afterAll(async () => {
    await pool?.end();
    await warehouse?.close();
  });

  it('gives every location a zone at once: its province, else the warehouse default', async () => {
    await insertPaidOrder({ at: '2026-03-10T12:00:00Z', location: 'LOC-XX-001', totalCents: 100 });
    const found = Object.fromEntries((await listLocations(warehouse.db)).map((l) => [l.code, [l.timeZone, l.timeZoneSource, l.businessDayStart]]));
    expect(found).toEqual({
      'LOC-BC-001': ['America/Vancouver', 'province', '00:00'],
      'LOC-IN-001': ['Asia/Kolkata', 'operator', '04:00'],
      'LOC-NL-001': ['America/St_Johns', 'province', '00:00'],
      'LOC-ON-001': ['America/Toronto', 'province', '04:00'],
      'LOC-XX-001': ['America/Toronto', 'warehouse default', '00:00'],
    });
  });

  it('reads each location by its own business day: 23- and 25-hour days, cut-offs, half-hour zones', async () => {
    const expected = new Map<string, { count: number; cents: number; zone: string }>();
    for (const order of orders) {
      const { zone, cutoff } = ZONES[order.location]!;
      const key = `${businessDayOf(order.at, zone, cutoff)}|${order.location}`;
      const entry = expected.get(key) ?? { count: 0, cents: 0, zone };
      expected.set(key, { ...entry, count: entry.count + 1, cents: entry.cents + order.totalCents });
    }
    const rows = (await businessDays()).filter((row) => row.location_code !== 'LOC-XX-001');
    expect(rows).toEqual(
      [...expected.entries()]
        .map(([key, { count, cents, zone }]) => {
          const [day, location] = key.split('|');
          return { business_day: day!, location_code: location!, time_zone: zone, order_count: String(count), total_revenue: money(cents) };
        })
        .sort((a, b) => `${a.business_day}|${a.location_code}`.localeCompare(`${b.business_day}|${b.location_code}`)),
    );
    // The two DST days, spelled out: 23 hours and 25 hours of orders under one business day.
    expect(rows.find((row) => row.business_day === '2026-03-07' && row.location_code === 'LOC-ON-001')).toMatchObject({ order_count: '2', total_revenue: '50.00' });
    expect(rows.find((row) => row.business_day === '2026-10-31' && row.location_code === 'LOC-ON-001')).toMatchObject({ order_count: '2', total_revenue: '11.00' });
    await expectViewsMatchFacts(pool);
  });

  it('refuses an unknown zone or a malformed code, changing nothing', async () => {
    const before = [await listLocations(warehouse.db), await businessDays()];
    await expect(setLocation(warehouse.db, { code: 'LOC-ON-001', timeZone: 'Mars/Olympus' })).rejects.toThrow(LocationChangeRefused);
    await expect(setLocation(warehouse.db, { code: 'LOC-ON-001', timeZone: 'Mars/Olympus' })).rejects.toThrow(/unknown time zone 'Mars\/Olympus'/);
    await expect(setLocation(warehouse.db, { code: 'ON-1', timeZone: 'America/Toronto' })).rejects.toThrow(/LOC-ON-007/);
    await expect(sql`UPDATE analytics.locations SET time_zone = 'EST5' WHERE location_code = 'LOC-ON-001'`.execute(warehouse.db)).rejects.toThrow(/time_zone_is_known/);
    expect([await listLocations(warehouse.db), await businessDays()]).toEqual(before);
  });

  it('re-derives a location when its zone or cut-off changes, and follows WAREHOUSE_TIME_ZONE where it was defaulted', async () => {
    await setLocation(warehouse.db, { code: 'LOC-BC-001', timeZone: 'America/Toronto' });
    expect((await businessDays()).find((row) => row.location_code === 'LOC-BC-001')).toMatchObject({ business_day: '2026-03-10', time_zone: 'America/Toronto' });
    await setLocation(warehouse.db, { code: 'LOC-BC-001', timeZone: 'America/Vancouver', name: 'Gastown' });
    expect((await businessDays()).find((row) => row.location_code === 'LOC-BC-001')).toMatchObject({ business_day: '2026-03-09', time_zone: 'America/Vancouver' });

    const { rows } = await pool.query<{ moved: number }>("SELECT analytics.set_default_time_zone('Asia/Kathmandu') AS moved");
    expect(rows[0]!.moved).toBe(1);
    const zones = Object.fromEntries((await listLocations(warehouse.db)).map((l) => [l.code, l.timeZone]));
    expect(zones).toMatchObject({ 'LOC-XX-001': 'Asia/Kathmandu', 'LOC-ON-001': 'America/Toronto', 'LOC-BC-001': 'America/Vancouver' });
    await expectViewsMatchFacts(pool);
  });

  it('folds write slots and closed months without changing a figure; a rebuild corrects only what differs', async () => {
    // Two writers at once: the second takes another slot.
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await insertPaidOrder({ at: '2026-03-08T15:00:00Z', location: 'LOC-ON-001', totalCents: 1200 }, holder);
      await insertPaidOrder({ at: '2026-03-08T15:05:00Z', location: 'LOC-NL-001', totalCents: 1300 });
      await holder.query('COMMIT');
    } finally {
      holder.release();
    }
    const { rows: slots } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM analytics.sales_quarter_hour_rollup WHERE slot <> 0');
    expect(Number(slots[0]!.n)).toBeGreaterThan(0);
    const before = await rollupTotals(pool);

    const due = (await pool.query<{ kind: string; period: string }>("SELECT kind, period::text FROM analytics.rollup_folds_due()")).rows;
    expect(due).toContainEqual({ kind: 'slots', period: '2026-03-08' });
    expect(due).toContainEqual({ kind: 'menu month', period: '2026-03-01' });
    for (const { kind, period } of due) {
      await pool.query(kind === 'slots' ? 'SELECT analytics.fold_rollup_slots($1)' : 'SELECT analytics.fold_menu_month($1)', [period]);
    }
    expect((await pool.query("SELECT * FROM analytics.rollup_folds_due()")).rows).toEqual([]);
    expect(await rollupTotals(pool)).toEqual(before);
    await expectViewsMatchFacts(pool);

    // A late item in the folded month is counted at month grain; a rebuild then has nothing to do.
    await insertPaidOrder({ at: '2026-03-20T18:00:00Z', location: 'LOC-ON-001', totalCents: 1400 });
    await expectViewsMatchFacts(pool);
    expect((await rebuildRollups(pool)).corrected).toBe(0);

    // Rows out of step with the facts (a bug, a hand edit) are found, and a rebuild corrects just those keys.
    await pool.query("UPDATE analytics.menu_monthly_rollup SET quantity = quantity + 5 WHERE month = '2026-03-01' AND item_name = 'Burger 0'");
    await pool.query("DELETE FROM analytics.location_hourly_rollup WHERE business_day = '2026-03-09' AND location_code = 'LOC-NL-001'");
    const { rows: out } = await pool.query<{ rollup: string; rollup_key: string }>("SELECT * FROM analytics.rollup_discrepancies('-infinity') ORDER BY 1, 2");
    expect(out).toEqual([
      { rollup: 'location_hourly_rollup', rollup_key: expect.stringMatching(/^2026-03-09\/LOC-NL-001\/\d+$/) },
      { rollup: 'menu_monthly_rollup', rollup_key: '2026-03/burger/Burger 0' },
    ]);
    expect((await rebuildRollups(pool)).corrected).toBe(2);
    await expectViewsMatchFacts(pool);
  });
});
