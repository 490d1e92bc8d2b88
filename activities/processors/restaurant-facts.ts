/**
 * The built-in processors: the four restaurant event types into the analytics facts. This file is the
 * ingestion hot path: every statement is set-based (one JSON recordset per batch) and idempotent on
 * natural keys.
 */
import { feedbackSubmittedPayload, orderCreatedPayload, orderItemAddedPayload, paymentCapturedPayload } from '../../events/index.js';
import { defineProcessor, payloadRecords } from './processor.js';

export const orderCreated = defineProcessor({
  eventType: 'order_created',
  payloadSchema: orderCreatedPayload,
  async apply(sql, events) {
    await sql.query(
      `INSERT INTO analytics.orders (order_id, visit_id, service_type, order_ts, location_code)
       SELECT p.order_id, p.visit_id, p.service_type, p.order_ts, p.location_code
       FROM jsonb_to_recordset($1::jsonb) AS p(order_id uuid, visit_id uuid, service_type text, order_ts timestamptz, location_code text)
       ON CONFLICT (order_id) DO NOTHING`,
      [payloadRecords(events)],
    );
  },
});

export const orderItemAdded = defineProcessor({
  eventType: 'order_item_added',
  payloadSchema: orderItemAddedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    await sql.query(
      `INSERT INTO analytics.order_items (order_item_id, order_id, menu_item_id, category, item_name, unit_price, qty, extended_price, created_at)
       SELECT p.order_item_id, p.order_id, p.menu_item_id, p.category, p.item_name, p.unit_price, p.qty, p.extended_price, p.event_ts
       FROM jsonb_to_recordset($1::jsonb) AS p(order_item_id uuid, order_id uuid, menu_item_id uuid, category text, item_name text,
                                              unit_price numeric, qty int, extended_price numeric, event_ts timestamptz)
       ON CONFLICT (order_item_id) DO NOTHING`,
      [payloadRecords(events)],
    );
  },
});

/** A captured payment is a payments row and the money columns of its order. */
export const paymentCaptured = defineProcessor({
  eventType: 'payment_captured',
  payloadSchema: paymentCapturedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    await sql.query(
      `WITH p AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS p(payment_id uuid, order_id uuid, method text, provider text, amount numeric,
                                                          auth_code text, subtotal numeric, tax numeric, tip numeric, total numeric, event_ts timestamptz)
       ),
       paid AS (
         INSERT INTO analytics.payments (payment_id, order_id, method, provider, amount, auth_code, processed_at)
         SELECT payment_id, order_id, method, provider, amount, auth_code, event_ts FROM p
         ON CONFLICT (payment_id) DO NOTHING
       )
       UPDATE analytics.orders AS o
       SET subtotal = p.subtotal, tax = p.tax, tip = p.tip, total = p.total, updated_at = now()
       FROM p
       WHERE o.order_id = p.order_id
         AND (o.subtotal, o.tax, o.tip, o.total) IS DISTINCT FROM (p.subtotal, p.tax, p.tip, p.total)`,
      [payloadRecords(events)],
    );
  },
});

export const feedbackSubmitted = defineProcessor({
  eventType: 'feedback_submitted',
  payloadSchema: feedbackSubmittedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    await sql.query(
      `INSERT INTO analytics.feedback (feedback_id, order_id, customer_id, rating, nps, comment, created_ts)
       SELECT p.feedback_id, p.order_id, p.customer_id, p.rating, p.nps, p.comment, p.created_ts
       FROM jsonb_to_recordset($1::jsonb) AS p(feedback_id uuid, order_id uuid, customer_id uuid, rating int, nps int, comment text, created_ts timestamptz)
       ON CONFLICT (feedback_id) DO NOTHING`,
      [payloadRecords(events)],
    );
  },
});

/** In the order they are applied within a batch: an order before its items, payment and feedback. */
export const RESTAURANT_PROCESSORS = [orderCreated, orderItemAdded, paymentCaptured, feedbackSubmitted];
