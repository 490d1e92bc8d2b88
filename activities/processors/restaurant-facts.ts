/**
 * The built-in processors: the four restaurant event types into the analytics facts. This file is the
 * ingestion hot path: every statement is set-based (arrays + unnest) and idempotent on natural keys.
 */
import { feedbackSubmittedPayload, orderCreatedPayload, orderItemAddedPayload, paymentCapturedPayload } from '../../events/index.js';
import { columns } from '../warehouse/unnest-columns.js';
import { defineProcessor } from './processor.js';

export const orderCreated = defineProcessor({
  eventType: 'order_created',
  payloadSchema: orderCreatedPayload,
  async apply(sql, events) {
    await sql.query(
      `INSERT INTO analytics.orders (order_id, visit_id, service_type, order_ts, location_code)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[])
       ON CONFLICT (order_id) DO NOTHING`,
      columns(events, {
        order: (e) => e.payload.order_id,
        visit: (e) => e.payload.visit_id,
        service: (e) => e.payload.service_type,
        orderTs: (e) => e.payload.order_ts,
        location: (e) => e.payload.location_code,
      }),
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
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::numeric[], $7::int[], $8::numeric[], $9::timestamptz[])
       ON CONFLICT (order_item_id) DO NOTHING`,
      columns(events, {
        item: (e) => e.payload.order_item_id,
        order: (e) => e.payload.order_id,
        menuItem: (e) => e.payload.menu_item_id,
        category: (e) => e.payload.category,
        name: (e) => e.payload.item_name,
        unitPrice: (e) => e.payload.unit_price,
        qty: (e) => e.payload.qty,
        extendedPrice: (e) => e.payload.extended_price,
        addedAt: (e) => e.ts,
      }),
    );
  },
});

/** A captured payment is a payments row and the money columns of its order. */
export const paymentCaptured = defineProcessor({
  eventType: 'payment_captured',
  payloadSchema: paymentCapturedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    const [payment, order, method, provider, amount, authCode, processedAt, subtotal, tax, tip, total] = columns(events, {
      payment: (e) => e.payload.payment_id,
      order: (e) => e.payload.order_id,
      method: (e) => e.payload.method,
      provider: (e) => e.payload.provider,
      amount: (e) => e.payload.amount,
      authCode: (e) => e.payload.auth_code,
      processedAt: (e) => e.ts,
      subtotal: (e) => e.payload.subtotal,
      tax: (e) => e.payload.tax,
      tip: (e) => e.payload.tip,
      total: (e) => e.payload.total,
    });
    await sql.query(
      `INSERT INTO analytics.payments (payment_id, order_id, method, provider, amount, auth_code, processed_at)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::timestamptz[])
       ON CONFLICT (payment_id) DO NOTHING`,
      [payment, order, method, provider, amount, authCode, processedAt],
    );
    await sql.query(
      `UPDATE analytics.orders AS o
       SET subtotal = p.subtotal, tax = p.tax, tip = p.tip, total = p.total, updated_at = now()
       FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[]) AS p(order_id, subtotal, tax, tip, total)
       WHERE o.order_id = p.order_id
         AND (o.subtotal, o.tax, o.tip, o.total) IS DISTINCT FROM (p.subtotal, p.tax, p.tip, p.total)`,
      [order, subtotal, tax, tip, total],
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
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::int[], $6::text[], $7::timestamptz[])
       ON CONFLICT (feedback_id) DO NOTHING`,
      columns(events, {
        feedback: (e) => e.payload.feedback_id,
        order: (e) => e.payload.order_id,
        customer: (e) => e.payload.customer_id,
        rating: (e) => e.payload.rating,
        nps: (e) => e.payload.nps,
        comment: (e) => e.payload.comment,
        createdTs: (e) => e.payload.created_ts,
      }),
    );
  },
});

/** In the order they are applied within a batch: an order before its items, payment and feedback. */
export const RESTAURANT_PROCESSORS = [orderCreated, orderItemAdded, paymentCaptured, feedbackSubmitted];
