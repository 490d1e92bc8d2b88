import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceType } from '../../warehouse/schema.js';
import { hundredths, migratedWarehouse, money, type MigratedWarehouse } from './support.js';

/*
 * A hand-made day and a half of orders. Expected view rows are computed below in TypeScript from
 * these literals (integer cents), never by asking PostgreSQL.
 */
interface FixtureItem {
  readonly category: string;
  readonly name: string;
  readonly unitCents: number;
  readonly qty: number;
}
interface FixtureOrder {
  readonly at: string;
  readonly location: string;
  readonly service: ServiceType;
  readonly items: readonly FixtureItem[];
  /** Undefined: payment_captured has not landed yet. */
  readonly tipCents?: number;
}

const burger: Omit<FixtureItem, 'qty'> = { category: 'burger', name: 'Burger 42', unitCents: 1450 };
const coffee: Omit<FixtureItem, 'qty'> = { category: 'coffee', name: 'Coffee 7', unitCents: 325 };
const pasta: Omit<FixtureItem, 'qty'> = { category: 'pasta', name: 'Pasta 3', unitCents: 1899 };
const wine: Omit<FixtureItem, 'qty'> = { category: 'alcohol', name: 'Wine 11', unitCents: 1200 };

const orders: readonly FixtureOrder[] = [
  { at: '2026-11-20T09:05:00Z', location: 'LOC-ON-001', service: 'dine_in', items: [{ ...coffee, qty: 2 }, { ...burger, qty: 1 }], tipCents: 300 },
  { at: '2026-11-20T09:40:00Z', location: 'LOC-ON-001', service: 'dine_in', items: [{ ...coffee, qty: 1 }], tipCents: 51 },
  { at: '2026-11-20T09:59:59Z', location: 'LOC-ON-001', service: 'dine_in', items: [{ ...burger, qty: 3 }], tipCents: 0 },
  { at: '2026-11-20T09:30:00Z', location: 'LOC-ON-001', service: 'takeout', items: [{ ...pasta, qty: 1 }], tipCents: 0 },
  { at: '2026-11-20T09:31:00Z', location: 'LOC-ON-002', service: 'takeout', items: [{ ...pasta, qty: 2 }, { ...wine, qty: 1 }], tipCents: 190 },
  { at: '2026-11-20T10:00:00Z', location: 'LOC-ON-001', service: 'dine_in', items: [{ ...wine, qty: 2 }], tipCents: 480 },
  { at: '2026-11-20T23:59:00Z', location: 'LOC-ON-002', service: 'delivery', items: [{ ...burger, qty: 1 }, { ...coffee, qty: 1 }], tipCents: 222 },
  { at: '2026-11-21T00:01:00Z', location: 'LOC-ON-002', service: 'delivery', items: [{ ...pasta, qty: 1 }], tipCents: 333 },
  { at: '2026-11-21T00:20:00Z', location: 'LOC-ON-002', service: 'delivery', items: [{ ...pasta, qty: 1 }, { ...burger, qty: 2 }] },
  { at: '2026-11-21T12:00:00Z', location: 'LOC-ON-001', service: 'dine_in', items: [{ ...wine, qty: 3 }] },
];

interface FixtureFeedback {
  readonly at: string;
  readonly rating: number | null;
  readonly nps: number | null;
}

const feedback: readonly FixtureFeedback[] = [
  { at: '2026-11-20T10:00:00Z', rating: 5, nps: 10 },
  { at: '2026-11-20T11:00:00Z', rating: 4, nps: 8 },
  { at: '2026-11-20T18:00:00Z', rating: 2, nps: 3 },
  { at: '2026-11-20T23:30:00Z', rating: 3, nps: 6 },
  { at: '2026-11-20T23:45:00Z', rating: 4, nps: null },
  { at: '2026-11-21T08:00:00Z', rating: 5, nps: 9 },
  { at: '2026-11-21T09:00:00Z', rating: 1, nps: 0 },
  { at: '2026-11-21T09:30:00Z', rating: 4, nps: 7 },
];

const extendedCents = (item: FixtureItem) => item.unitCents * item.qty;
const subtotalCents = (order: FixtureOrder) => order.items.reduce((sum, item) => sum + extendedCents(item), 0);
const taxCents = (order: FixtureOrder) => Math.round(subtotalCents(order) * 0.13);
const totalCents = (order: FixtureOrder) => subtotalCents(order) + taxCents(order) + (order.tipCents ?? 0);
const paid = orders.filter((order) => order.tipCents !== undefined);

const hourOf = (iso: string) => `${iso.slice(0, 13)}:00:00.000Z`;
const dayOf = (iso: string) => `${iso.slice(0, 10)}T00:00:00.000Z`;

function groupBy<T>(rows: readonly T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) groups.set(key(row), [...(groups.get(key(row)) ?? []), row]);
  return groups;
}
const sum = <T>(rows: readonly T[], value: (row: T) => number) => rows.reduce((total, row) => total + value(row), 0);
const byKey = <T extends Record<string, unknown>>(rows: T[], ...keys: Array<keyof T>) =>
  [...rows].sort((a, b) => keys.map((k) => String(a[k])).join('|').localeCompare(keys.map((k) => String(b[k])).join('|')));

describe('reporting views on a hand-made fixture', () => {
  let warehouse: MigratedWarehouse;

  beforeAll(async () => {
    warehouse = await migratedWarehouse('views');
    const { db } = warehouse;
    for (const order of orders) {
      const orderId = randomUUID();
      const isPaid = order.tipCents !== undefined;
      await db
        .insertInto('analytics.orders')
        .values({
          order_id: orderId,
          visit_id: randomUUID(),
          service_type: order.service,
          order_ts: order.at,
          location_code: order.location,
          subtotal: isPaid ? money(subtotalCents(order)) : null,
          tax: isPaid ? money(taxCents(order)) : null,
          tip: isPaid ? money(order.tipCents ?? 0) : null,
          total: isPaid ? money(totalCents(order)) : null,
        })
        .execute();
      await db
        .insertInto('analytics.order_items')
        .values(
          order.items.map((item) => ({
            order_item_id: randomUUID(),
            order_id: orderId,
            menu_item_id: randomUUID(),
            category: item.category,
            item_name: item.name,
            unit_price: money(item.unitCents),
            qty: item.qty,
            extended_price: money(extendedCents(item)),
          })),
        )
        .execute();
    }
    await db
      .insertInto('analytics.feedback')
      .values(
        feedback.map((entry) => ({
          feedback_id: randomUUID(),
          customer_id: randomUUID(),
          rating: entry.rating,
          nps: entry.nps,
          comment: entry.rating === 1 ? 'cold fries' : null,
          created_ts: entry.at,
        })),
      )
      .execute();
  });
  afterAll(async () => warehouse?.close());

  it('hourly_sales: paid orders per hour, location and service type, newest hour first', async () => {
    const expected = [...groupBy(paid, (o) => `${hourOf(o.at)}|${o.location}|${o.service}`).values()].map((group) => {
      const first = group[0]!;
      return {
        hour: hourOf(first.at),
        location_code: first.location,
        service_type: first.service,
        order_count: String(group.length),
        subtotal: money(sum(group, subtotalCents)),
        tax: money(sum(group, taxCents)),
        tip: money(sum(group, (o) => o.tipCents ?? 0)),
        total: money(sum(group, totalCents)),
        avg_order_value: hundredths(sum(group, totalCents), group.length),
      };
    });
    const rows = await warehouse.db.selectFrom('analytics.hourly_sales').selectAll().execute();
    const actual = rows.map((row) => ({ ...row, hour: row.hour.toISOString() }));

    expect(byKey(actual, 'hour', 'location_code', 'service_type')).toEqual(byKey(expected, 'hour', 'location_code', 'service_type'));
    const hours = actual.map((row) => row.hour);
    expect(hours).toEqual([...hours].sort().reverse());
  });

  it('daily_sales: paid orders per day and location, revenue and tips', async () => {
    const expected = [...groupBy(paid, (o) => `${dayOf(o.at)}|${o.location}`).values()].map((group) => {
      const first = group[0]!;
      return {
        day: dayOf(first.at),
        location_code: first.location,
        order_count: String(group.length),
        total_revenue: money(sum(group, totalCents)),
        avg_order_value: hundredths(sum(group, totalCents), group.length),
        total_tips: money(sum(group, (o) => o.tipCents ?? 0)),
        avg_tip: hundredths(sum(group, (o) => o.tipCents ?? 0), group.length),
      };
    });
    const rows = await warehouse.db.selectFrom('analytics.daily_sales').selectAll().execute();
    const actual = rows.map((row) => ({ ...row, day: row.day.toISOString() }));

    expect(actual).toEqual([...expected].sort((a, b) => b.day.localeCompare(a.day) || a.location_code.localeCompare(b.location_code)));
  });

  it('menu_performance: items of paid orders only, by category and item, best seller first', async () => {
    const lines = paid.flatMap((order) => order.items);
    const expected = [...groupBy(lines, (item) => `${item.category}|${item.name}`).values()].map((group) => ({
      category: group[0]!.category,
      item_name: group[0]!.name,
      times_ordered: String(group.length),
      total_quantity_sold: String(sum(group, (item) => item.qty)),
      total_revenue: money(sum(group, extendedCents)),
      avg_unit_price: hundredths(sum(group, (item) => item.unitCents), group.length),
      avg_extended_price: hundredths(sum(group, extendedCents), group.length),
    }));
    const actual = await warehouse.db.selectFrom('analytics.menu_performance').selectAll().execute();

    expect(actual).toEqual([...expected].sort((a, b) => Number(b.total_revenue) - Number(a.total_revenue)));
    // The unpaid orders' lines (3 pasta, 2 burgers, 3 wines) are not counted anywhere.
    expect(sum(actual, (row) => Number(row.total_quantity_sold))).toBe(sum(lines, (item) => item.qty));
  });

  it('satisfaction_summary: daily averages and rates in percent, feedback without nps left out', async () => {
    const rated = feedback.filter((entry) => entry.rating !== null && entry.nps !== null);
    const expected = [...groupBy(rated, (entry) => dayOf(entry.at)).values()].map((group) => {
      const share = (test: (entry: FixtureFeedback) => boolean) => hundredths(group.filter(test).length * 100 * 100, group.length);
      return {
        day: dayOf(group[0]!.at),
        feedback_count: String(group.length),
        avg_rating: hundredths(sum(group, (entry) => entry.rating ?? 0) * 100, group.length),
        avg_nps: hundredths(sum(group, (entry) => entry.nps ?? 0) * 100, group.length),
        satisfaction_rate: share((entry) => (entry.rating ?? 0) >= 4),
        promoter_rate: share((entry) => (entry.nps ?? 0) >= 9),
        detractor_rate: share((entry) => (entry.nps ?? 10) <= 6),
      };
    });
    const rows = await warehouse.db.selectFrom('analytics.satisfaction_summary').selectAll().execute();
    const actual = rows.map((row) => ({ ...row, day: row.day.toISOString() }));

    expect(actual).toEqual([...expected].sort((a, b) => b.day.localeCompare(a.day)));
    // Spot-check the arithmetic above against hand-computed values for 2026-11-20: 4 rated entries.
    expect(actual.find((row) => row.day.startsWith('2026-11-20'))).toMatchObject({
      avg_rating: '3.50',
      satisfaction_rate: '50.00',
      promoter_rate: '25.00',
      detractor_rate: '50.00',
    });
  });

  it('documents how unpaid orders count', async () => {
    const { rows } = await sql<{ view: string; comment: string }>`
      SELECT c.relname AS view, obj_description(c.oid, 'pg_class') AS comment
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'analytics' AND c.relname IN ('hourly_sales', 'daily_sales', 'menu_performance')`.execute(warehouse.db);
    expect(rows).toHaveLength(3);
    for (const row of rows) expect(row.comment).toMatch(/paid/i);
  });
});
