import type pg from 'pg';
import { expect } from 'vitest';
import { expectedFacts, type GroundTruth } from './ground-truth.js';

/**
 * One stream's rows among several streams' in one warehouse: its raw events exactly once each, and the
 * facts of the orders its events created equal to what its source's valid events imply.
 */
export async function expectStreamMatches(db: pg.Pool, stream: string, truth: GroundTruth): Promise<void> {
  const raw = await db.query<{ event_id: string }>('SELECT event_id FROM raw_data.events_raw WHERE stream_name = $1', [stream]);
  const ids = raw.rows.map((row) => row.event_id);
  expect(new Set(ids).size, `${stream}: no event stored twice`).toBe(ids.length);
  expect(new Set(ids), `${stream}: every source event stored`).toEqual(truth.eventIds);

  const { rows } = await db.query<Record<string, string>>(
    `WITH stream_orders AS (
       SELECT DISTINCT (payload ->> 'order_id')::uuid AS order_id FROM raw_data.events_raw
       WHERE stream_name = $1 AND event_type = 'order_created')
     SELECT (SELECT count(*) FROM analytics.orders o JOIN stream_orders s USING (order_id)) AS orders,
            (SELECT count(*) FROM analytics.order_items i JOIN stream_orders s USING (order_id)) AS items,
            (SELECT count(*) FROM analytics.payments p JOIN stream_orders s USING (order_id)) AS payments,
            (SELECT count(*) FROM analytics.feedback f JOIN stream_orders s USING (order_id)) AS feedback,
            (SELECT coalesce(sum(i.extended_price * 100), 0) FROM analytics.order_items i JOIN stream_orders s USING (order_id)) AS item_cents,
            (SELECT coalesce(sum(i.qty), 0) FROM analytics.order_items i JOIN stream_orders s USING (order_id)) AS quantity,
            (SELECT coalesce(sum(p.amount * 100), 0) FROM analytics.payments p JOIN stream_orders s USING (order_id)) AS payment_cents,
            (SELECT coalesce(sum(o.tip * 100), 0) FROM analytics.orders o JOIN stream_orders s USING (order_id)) AS tip_cents,
            (SELECT count(*) FROM staging.pending_children WHERE stream_name = $1) AS staged`,
    [stream],
  );
  const actual = rows[0]!;
  expect(
    {
      orders: Number(actual.orders),
      items: Number(actual.items),
      payments: Number(actual.payments),
      feedback: Number(actual.feedback),
      itemCents: Number(actual.item_cents),
      quantity: Number(actual.quantity),
      paymentCents: Number(actual.payment_cents),
      tipCents: Number(actual.tip_cents),
      staged: Number(actual.staged),
    },
    `${stream}: facts`,
  ).toEqual(expectedFacts(truth.valid));
}
