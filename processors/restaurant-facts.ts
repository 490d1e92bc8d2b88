/**
 * The built-in processors: the four restaurant event types into the analytics facts. This file is the
 * ingestion hot path: every statement is set-based (one JSON recordset per batch) and idempotent on
 * natural keys.
 */
import { feedbackSubmittedPayload, orderCreatedPayload, orderItemAddedPayload, paymentCapturedPayload } from '../events/index.js';
import { FEEDBACK_ROW, insertFactRows, ORDER_ITEM_ROW, ORDER_MONEY_COLUMNS, ORDER_ROW, PAYMENT_ROW, recordsetOf } from './fact-rows.js';
import { defineProcessor, payloadRecords } from './processor.js';

const INSERT_ORDERS = insertFactRows(ORDER_ROW);
const INSERT_ORDER_ITEMS = insertFactRows(ORDER_ITEM_ROW);
const INSERT_FEEDBACK = insertFactRows(FEEDBACK_ROW);

const money = ORDER_MONEY_COLUMNS.map((c) => c.column);
const CAPTURE_PAYMENTS = `WITH p AS (
         SELECT * FROM ${recordsetOf([...PAYMENT_ROW.columns, ...ORDER_MONEY_COLUMNS])}
       ),
       paid AS (
         INSERT INTO ${PAYMENT_ROW.table} (${PAYMENT_ROW.columns.map((c) => c.column).join(', ')})
         SELECT ${PAYMENT_ROW.columns.map((c) => c.field).join(', ')} FROM p
         ON CONFLICT (${PAYMENT_ROW.key}) DO NOTHING
       )
       UPDATE ${ORDER_ROW.table} AS o
       SET ${money.map((column) => `${column} = p.${column}`).join(', ')}, updated_at = now()
       FROM p
       WHERE o.order_id = p.order_id
         AND (${money.map((column) => `o.${column}`).join(', ')}) IS DISTINCT FROM (${money.map((column) => `p.${column}`).join(', ')})`;

export const orderCreated = defineProcessor({
  eventType: ORDER_ROW.eventType,
  payloadSchema: orderCreatedPayload,
  async apply(sql, events) {
    await sql.query(INSERT_ORDERS, [payloadRecords(events)]);
  },
});

export const orderItemAdded = defineProcessor({
  eventType: ORDER_ITEM_ROW.eventType,
  payloadSchema: orderItemAddedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    await sql.query(INSERT_ORDER_ITEMS, [payloadRecords(events)]);
  },
});

/** A captured payment is a payments row and the money columns of its order. */
export const paymentCaptured = defineProcessor({
  eventType: PAYMENT_ROW.eventType,
  payloadSchema: paymentCapturedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    await sql.query(CAPTURE_PAYMENTS, [payloadRecords(events)]);
  },
});

export const feedbackSubmitted = defineProcessor({
  eventType: FEEDBACK_ROW.eventType,
  payloadSchema: feedbackSubmittedPayload,
  orderIdOf: (payload) => payload.order_id,
  async apply(sql, events) {
    await sql.query(INSERT_FEEDBACK, [payloadRecords(events)]);
  },
});

/** In the order they are applied within a batch: an order before its items, payment and feedback. */
export const RESTAURANT_PROCESSORS = [orderCreated, orderItemAdded, paymentCaptured, feedbackSubmitted];
