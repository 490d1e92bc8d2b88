import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchTransactionStart } from '../../activities/warehouse/batch-writer.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** Adds `count` unpaid orders in one statement. */
async function addOrders(client: pg.ClientBase, count: number): Promise<void> {
  await client.query(
    `INSERT INTO analytics.orders (order_id, service_type, order_ts, location_code)
     SELECT gen_random_uuid(), 'takeout', now(), 'LOC-1' FROM generate_series(1, $1::int)`,
    [count],
  );
}

/** Whole scans of analytics.orders this connection has made and not yet reported to the statistics. */
async function orderScans(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ seq_scan: string }>(`SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'analytics.orders'::regclass`);
  return Number(rows[0]?.seq_scan ?? 0);
}

/**
 * Inserts an item for each of `count` orders on `client` in a transaction begun with `start`, and rolls
 * it back: how many whole scans of analytics.orders that took (its foreign-key checks and the rollup
 * trigger read orders).
 */
async function orderScansForItems(client: pg.ClientBase, count: number, start = 'BEGIN'): Promise<number> {
  await client.query(start);
  try {
    const before = await orderScans(client);
    await client.query(
      `INSERT INTO analytics.order_items (order_item_id, order_id, category, item_name, unit_price, qty, extended_price)
       SELECT gen_random_uuid(), order_id, 'Mains', 'Burger', 10, 1, 10 FROM analytics.orders ORDER BY order_id LIMIT $1`,
      [count],
    );
    return (await orderScans(client)) - before;
  } finally {
    await client.query('ROLLBACK');
  }
}

describe('a long-lived pooled connection does not keep its plans for ever', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('session-plans');
    // Statistics that say orders is empty, as after a truncate, and no autovacuum to refresh them mid-test.
    await warehouse.pool.query('ALTER TABLE analytics.orders SET (autovacuum_enabled = off); ANALYZE analytics.orders');
  });
  afterAll(async () => {
    await warehouse?.close();
  });

  it('foreign-key checks planned on an empty orders table use its index in the next batch', async () => {
    const client = await warehouse.pool.connect();
    try {
      await addOrders(client, 20);
      // Planned while orders fits in a page: scanning it is the cheapest way, and the plan is kept.
      expect(await orderScansForItems(client, 20)).toBeGreaterThan(0);
      await addOrders(client, 30_000);
      // Thirty thousand orders later the kept plan still scans the whole table for every item.
      expect(await orderScansForItems(client, 200)).toBeGreaterThanOrEqual(200);

      // A batch's transaction on this connection discards its plans: index lookups (the item and rollup statements may still read orders once each).
      expect(await orderScansForItems(client, 200, batchTransactionStart(client).join('; '))).toBeLessThanOrEqual(3);
      // The next batches within PLANS_KEPT_MS keep the new plans.
      expect(batchTransactionStart(client)).not.toContain('DISCARD PLANS');
    } finally {
      client.release();
    }
  });
});
