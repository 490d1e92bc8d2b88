import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrder, NewOrderItem } from '../../warehouse/schema.js';
import { migratedWarehouse, money, type MigratedWarehouse } from './support.js';

const longAgo = '2026-11-01T12:00:00Z';

function order(overrides: Partial<NewOrder> = {}): NewOrder {
  return {
    order_id: randomUUID(),
    service_type: 'dine_in',
    order_ts: longAgo,
    location_code: 'LOC-ON-003',
    created_at: longAgo,
    ...overrides,
  };
}

function item(orderId: string, unitCents: number, qty: number, extendedCents = unitCents * qty): NewOrderItem {
  return {
    order_item_id: randomUUID(),
    order_id: orderId,
    category: 'entree',
    item_name: 'Entree 9',
    unit_price: money(unitCents),
    qty,
    extended_price: money(extendedCents),
  };
}

describe('get_latest_offset()', () => {
  let warehouse: MigratedWarehouse;
  beforeAll(async () => {
    warehouse = await migratedWarehouse('latest_offset');
  });
  afterAll(async () => warehouse?.close());

  const latest = async (stream?: string) => {
    const call = stream === undefined ? sql`analytics.get_latest_offset()` : sql`analytics.get_latest_offset(${stream})`;
    const { rows } = await sql<{ offset: string }>`SELECT ${call} AS offset`.execute(warehouse.db);
    return rows[0]?.offset;
  };

  it('is 0 before the first batch and the checkpoint afterwards, per stream', async () => {
    expect(await latest()).toBe('0');
    await warehouse.db
      .insertInto('raw_data.stream_checkpoints')
      .values([
        { stream_name: 'restaurant_realtime_stream', event_offset: 41_250 },
        { stream_name: 'restaurant_stream_ingest_polling', event_offset: 39_000 },
      ])
      .execute();
    // Raw events with higher offsets (another source epoch) must not leak into the answer.
    await warehouse.db
      .insertInto('raw_data.events_raw')
      .values({
        event_offset: 99_999,
        event_id: randomUUID(),
        event_type: 'order_created',
        ts: longAgo,
        payload: '{}',
        stream_name: 'restaurant_realtime_stream',
        source_epoch: '0',
      })
      .execute();

    expect(await latest()).toBe('41250');
    expect(await latest('restaurant_stream_ingest_polling')).toBe('39000');
    expect(await latest('no_such_stream')).toBe('0');
  });
});

describe('calculate_order_metrics(order_id)', () => {
  let warehouse: MigratedWarehouse;
  beforeAll(async () => {
    warehouse = await migratedWarehouse('order_metrics');
  });
  afterAll(async () => warehouse?.close());

  const metrics = async (orderId: string) =>
    (await sql<Record<string, unknown>>`SELECT * FROM analytics.calculate_order_metrics(${orderId}::uuid)`.execute(warehouse.db)).rows;

  it('sums the items and payments of one order next to what the order records', async () => {
    const lines = [
      { unit: 1899, qty: 2 },
      { unit: 325, qty: 1 },
      { unit: 650, qty: 3 },
    ];
    const subtotal = lines.reduce((total, line) => total + line.unit * line.qty, 0);
    const total = subtotal + Math.round(subtotal * 0.13) + 500;
    const paidOrder = order({ subtotal: money(subtotal), tax: money(Math.round(subtotal * 0.13)), tip: money(500), total: money(total) });
    const other = order();
    await warehouse.db.insertInto('analytics.orders').values([paidOrder, other]).execute();
    await warehouse.db
      .insertInto('analytics.order_items')
      .values([...lines.map((line) => item(paidOrder.order_id, line.unit, line.qty)), item(other.order_id, 999, 1)])
      .execute();
    await warehouse.db
      .insertInto('analytics.payments')
      .values({ payment_id: randomUUID(), order_id: paidOrder.order_id, method: 'credit_card', provider: 'VISA', amount: money(total), auth_code: 'A1B2C3' })
      .execute();

    expect(await metrics(paidOrder.order_id)).toEqual([
      {
        order_id: paidOrder.order_id,
        item_count: 3,
        total_items: 6,
        calculated_subtotal: money(subtotal),
        recorded_subtotal: money(subtotal),
        total: money(total),
        paid_amount: money(total),
      },
    ]);
  });

  it('reports zeros for an order without items and nothing for an unknown order', async () => {
    const empty = order();
    await warehouse.db.insertInto('analytics.orders').values(empty).execute();

    expect(await metrics(empty.order_id)).toEqual([
      { order_id: empty.order_id, item_count: 0, total_items: 0, calculated_subtotal: '0.00', recorded_subtotal: null, total: null, paid_amount: null },
    ]);
    expect(await metrics(randomUUID())).toEqual([]);
  });
});

describe('validate_data_consistency()', () => {
  let warehouse: MigratedWarehouse;
  /** Each check's offending ids, as planted below. */
  const planted: Record<string, string[]> = {};
  const plant = (check: string, id: string) => (planted[check] = [...(planted[check] ?? []), id]);

  beforeAll(async () => {
    warehouse = await migratedWarehouse('consistency');
    const { db } = warehouse;

    // A clean, paid order: contributes to no finding.
    const clean = order({ subtotal: '20.00', tax: '2.60', tip: '3.00', total: '25.60' });
    // Paid 25.60 but the order says 26.00.
    const mismatched = order({ subtotal: '20.00', tax: '2.60', tip: '3.40', total: '26.00' });
    // Its subtotal says 30.00, its items add up to 20.00.
    const wrongSubtotal = order({ subtotal: '30.00', tax: '3.90', tip: '0.00', total: '33.90' });
    const negative = order({ subtotal: '20.00', tax: '2.60', tip: '-1.00', total: '21.60' });
    const withoutItems = order();
    const paidTwice = order({ subtotal: '20.00', tax: '2.60', tip: '0.00', total: '22.60' });
    // Too young to judge: created now, no items yet.
    const inFlight = order({ created_at: new Date() });
    await db.insertInto('analytics.orders').values([clean, mismatched, wrongSubtotal, negative, withoutItems, paidTwice, inFlight]).execute();
    plant('payment_amount_mismatches', mismatched.order_id);
    plant('subtotal_mismatches', wrongSubtotal.order_id);
    plant('negative_money', negative.order_id);
    plant('orders_without_items', withoutItems.order_id);
    plant('orders_with_multiple_payments', paidTwice.order_id);
    plant('payment_amount_mismatches', paidTwice.order_id);

    const badExtended = item(negative.order_id, 1000, 2, 1999);
    await db
      .insertInto('analytics.order_items')
      .values([
        item(clean.order_id, 1000, 2),
        item(mismatched.order_id, 1000, 2),
        item(wrongSubtotal.order_id, 1000, 2),
        item(paidTwice.order_id, 500, 4),
        badExtended,
      ])
      .execute();
    plant('extended_price_mismatches', badExtended.order_item_id);
    // badExtended makes `negative`'s items add up to 19.99 against a subtotal of 20.00.
    plant('subtotal_mismatches', negative.order_id);

    const payment = (orderId: string, amount: string) => ({ payment_id: randomUUID(), order_id: orderId, method: 'cash', amount });
    await db
      .insertInto('analytics.payments')
      .values([
        payment(clean.order_id, '25.60'),
        payment(mismatched.order_id, '25.60'),
        payment(wrongSubtotal.order_id, '33.90'),
        payment(negative.order_id, '21.60'),
        payment(paidTwice.order_id, '22.60'),
        payment(paidTwice.order_id, '22.60'),
      ])
      .execute();

    // Orphans can only exist when foreign keys were bypassed (a bulk load with triggers off): plant them that way.
    const missingOrder = randomUUID();
    const orphanItem = item(missingOrder, 500, 1);
    const orphanPayment = payment(missingOrder, '5.65');
    const orphanFeedback = { feedback_id: randomUUID(), order_id: missingOrder, rating: 3, nps: 5, created_ts: longAgo };
    await db.connection().execute(async (session) => {
      await sql`SET session_replication_role = replica`.execute(session);
      await session.insertInto('analytics.order_items').values(orphanItem).execute();
      await session.insertInto('analytics.payments').values(orphanPayment).execute();
      await session.insertInto('analytics.feedback').values(orphanFeedback).execute();
      await sql`RESET session_replication_role`.execute(session);
    });
    plant('orphan_order_items', orphanItem.order_item_id);
    plant('orphan_payments', orphanPayment.payment_id);
    plant('orphan_feedback', orphanFeedback.feedback_id);

    const staged = (stagedAt: Date | string) => ({
      event_id: randomUUID(),
      order_id: randomUUID(),
      event_type: 'order_item_added' as const,
      stream_name: 'restaurant_realtime_stream',
      event_offset: 77,
      ts: longAgo,
      payload: '{}',
      staged_at: stagedAt,
    });
    const stale = staged(longAgo);
    await db.insertInto('staging.pending_children').values([stale, staged(new Date())]).execute();
    plant('stale_staged_children', stale.event_id);

    const raw = (offset: number, epoch: string) => ({
      event_offset: offset,
      event_id: randomUUID(),
      event_type: 'order_created',
      ts: longAgo,
      payload: '{}',
      stream_name: 'restaurant_realtime_stream',
      source_epoch: epoch,
    });
    // Offset 10 twice in epoch 1 is a duplicate; offset 10 again after a restart (epoch 2) is not.
    await db.insertInto('raw_data.events_raw').values([raw(10, '1'), raw(10, '1'), raw(10, '2'), raw(11, '1')]).execute();
    plant('duplicate_event_offsets', 'restaurant_realtime_stream:1:10');

    // A rollup row written by hand, not by the triggers, is out of step with the facts.
    const { rows: handWritten } = await sql<{ key: string }>`
      INSERT INTO analytics.feedback_quarter_hour_rollup AS r (quarter_hour, slot, feedback_count, rating_sum, nps_sum, satisfied_count, promoter_count, detractor_count)
      VALUES (date_trunc('hour', now(), 'UTC') - interval '45 minutes', 7, 1, 5, 10, 1, 1, 0)
      ON CONFLICT (quarter_hour, slot) DO UPDATE SET feedback_count = r.feedback_count + 1
      RETURNING to_char(quarter_hour AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"') AS key`.execute(db);
    plant('rollups_out_of_step', `feedback_quarter_hour_rollup:${handWritten[0]!.key}`);
  });
  afterAll(async () => warehouse?.close());

  it('finds exactly the planted problems, with counts and sample ids', async () => {
    const { rows } = await sql<{ check_name: string; status: string; details: string; issue_count: string; sample_ids: string[] }>`
      SELECT * FROM analytics.validate_data_consistency()`.execute(warehouse.db);

    const checks = [
      'orders_without_items',
      'payment_amount_mismatches',
      'subtotal_mismatches',
      'extended_price_mismatches',
      'negative_money',
      'orphan_order_items',
      'orphan_payments',
      'orphan_feedback',
      'stale_staged_children',
      'duplicate_event_offsets',
      'orders_with_multiple_payments',
      'rollups_out_of_step',
    ];
    expect(rows.map((row) => row.check_name)).toEqual(checks);
    for (const row of rows) {
      const ids = [...(planted[row.check_name] ?? [])].sort();
      expect({ check: row.check_name, count: Number(row.issue_count), ids: row.sample_ids, status: row.status }).toEqual({
        check: row.check_name,
        count: ids.length,
        ids,
        status: ids.length > 0 ? 'WARNING' : 'OK',
      });
      expect(row.details).toContain(`Found ${ids.length} `);
    }
    expect(rows.every((row) => row.status === 'WARNING')).toBe(true);
  });

  it('caps sample ids and honours the grace period', async () => {
    const { rows } = await sql<{ check_name: string; issue_count: string; sample_ids: string[] }>`
      SELECT * FROM analytics.validate_data_consistency(p_grace => interval '0', p_sample_size => 1)`.execute(warehouse.db);
    const withoutItems = rows.find((row) => row.check_name === 'orders_without_items');
    // With no grace the in-flight order counts too.
    expect(Number(withoutItems?.issue_count)).toBe((planted.orders_without_items?.length ?? 0) + 1);
    expect(withoutItems?.sample_ids).toHaveLength(1);
    expect(Number(rows.find((row) => row.check_name === 'stale_staged_children')?.issue_count)).toBe(2);
  });
});
