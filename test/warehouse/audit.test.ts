import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewOrder } from '../../warehouse/schema.js';
import { migratedWarehouse, type MigratedWarehouse } from './support.js';

const newOrder = (location: string): NewOrder => ({
  order_id: randomUUID(),
  service_type: 'takeout',
  order_ts: '2026-11-22T18:00:00Z',
  location_code: location,
});

describe('audit triggers on orders and payments', () => {
  let warehouse: MigratedWarehouse;
  beforeAll(async () => {
    warehouse = await migratedWarehouse('audit');
  });
  afterAll(async () => warehouse?.close());

  const auditOf = (table: string, ids: readonly string[]) =>
    warehouse.db
      .selectFrom('analytics.audit_log')
      .selectAll()
      .where('table_name', '=', table)
      .where('record_id', 'in', ids)
      .orderBy('id')
      .execute();

  it('logs every row of a multi-row statement on each table, keyed by that table’s own key', async () => {
    const orders = [newOrder('LOC-ON-004'), newOrder('LOC-ON-005'), newOrder('LOC-ON-006')];
    await warehouse.db.insertInto('analytics.orders').values(orders).execute();
    const orderIds = orders.map((order) => order.order_id);
    const payments = orders.slice(0, 2).map((order) => ({
      payment_id: randomUUID(),
      order_id: order.order_id,
      method: 'digital_wallet',
      provider: 'Apple Pay',
      amount: '12.34',
    }));
    await warehouse.db.insertInto('analytics.payments').values(payments).execute();

    const orderAudit = await auditOf('analytics.orders', orderIds);
    expect(orderAudit.map((row) => row.record_id).sort()).toEqual([...orderIds].sort());
    for (const row of orderAudit) {
      expect(row).toMatchObject({ operation: 'INSERT', old_values: null });
      expect((row.new_values as { order_id: string }).order_id).toBe(row.record_id);
    }
    const paymentAudit = await auditOf('analytics.payments', payments.map((payment) => payment.payment_id));
    expect(paymentAudit).toHaveLength(2);
    expect(paymentAudit.map((row) => (row.new_values as { order_id: string }).order_id).sort()).toEqual(orderIds.slice(0, 2).sort());
    // One statement, one transaction: the details tie a batch's rows together.
    expect(new Set(orderAudit.map((row) => JSON.stringify(row.details))).size).toBe(1);
  });

  it('logs updates with old and new values, skips rows an update left unchanged, and logs deletes', async () => {
    const orders = [newOrder('LOC-ON-007'), newOrder('LOC-ON-007')];
    await warehouse.db.insertInto('analytics.orders').values(orders).execute();
    const [paid, untouched] = orders.map((order) => order.order_id) as [string, string];

    await warehouse.db
      .updateTable('analytics.orders')
      .set({ subtotal: '10.00', tax: '1.30', tip: '0.00', total: '11.30' })
      .where('order_id', '=', paid)
      .execute();
    // A no-op update of both rows: only real changes are worth an audit row.
    await warehouse.db.updateTable('analytics.orders').set({ location_code: 'LOC-ON-007' }).where('order_id', 'in', [paid, untouched]).execute();
    await warehouse.db.deleteFrom('analytics.orders').where('order_id', '=', untouched).execute();

    const audit = await auditOf('analytics.orders', [paid, untouched]);
    expect(audit.map((row) => [row.operation, row.record_id])).toEqual([
      ['INSERT', expect.any(String)],
      ['INSERT', expect.any(String)],
      ['UPDATE', paid],
      ['DELETE', untouched],
    ]);
    const update = audit[2]!;
    expect((update.old_values as { total: unknown }).total).toBeNull();
    expect((update.new_values as { total: unknown }).total).toBe(11.3);
    expect(audit[3]).toMatchObject({ new_values: null });
    expect((audit[3]!.old_values as { order_id: string }).order_id).toBe(untouched);
  });

  it('writes nothing for an idempotent re-insert that conflicts, and names the writing role', async () => {
    const order = newOrder('LOC-ON-008');
    await warehouse.db.insertInto('analytics.orders').values(order).execute();
    await warehouse.db.insertInto('analytics.orders').values(order).onConflict((conflict) => conflict.column('order_id').doNothing()).execute();

    const audit = await auditOf('analytics.orders', [order.order_id]);
    expect(audit).toHaveLength(1);
    const { rows } = await sql<{ me: string }>`SELECT current_user AS me`.execute(warehouse.db);
    expect(audit[0]?.user_name).toBe(rows[0]?.me);
  });

  it('cascading deletes of payments are audited under the payment key', async () => {
    const order = newOrder('LOC-ON-009');
    await warehouse.db.insertInto('analytics.orders').values(order).execute();
    const payment = { payment_id: randomUUID(), order_id: order.order_id, method: 'cash', amount: '8.00' };
    await warehouse.db.insertInto('analytics.payments').values(payment).execute();
    await warehouse.db.deleteFrom('analytics.orders').where('order_id', '=', order.order_id).execute();

    expect((await auditOf('analytics.payments', [payment.payment_id])).map((row) => row.operation)).toEqual(['INSERT', 'DELETE']);
  });
});
