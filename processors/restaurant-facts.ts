/**
 * The built-in processors: the four restaurant event types into the analytics facts. This file is the
 * ingestion hot path: every statement is set-based (one JSON recordset per batch) and idempotent on
 * natural keys.
 */
import { feedbackSubmittedPayload, orderCreatedPayload, orderItemAddedPayload, paymentCapturedPayload } from '../events/index.js';
import { FEEDBACK_ROW, insertFactRows, ORDER_ITEM_ROW, ORDER_MONEY_COLUMNS, ORDER_ROW, PAYMENT_ROW, recordsetOf } from './fact-rows.js';
import { defineProcessor, payloadRecords, type BatchEvents } from './processor.js';

/** An order is inserted with its money when its payment is in the same batch: written once, already paid. */
const INSERT_ORDERS = insertFactRows({ ...ORDER_ROW, columns: [...ORDER_ROW.columns, ...ORDER_MONEY_COLUMNS] });
const INSERT_ORDER_ITEMS = insertFactRows(ORDER_ITEM_ROW);
const INSERT_FEEDBACK = insertFactRows(FEEDBACK_ROW);

const money = ORDER_MONEY_COLUMNS.map((c) => c.column);
/*
 * The order's money is set only where it differs: a payment whose order was inserted with it (same
 * batch) updates nothing, and neither does a redelivered payment; a payment arriving after its order's
 * batch fills the money here.
 */
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

/** The money of each order paid in this batch: its first payment's, as CAPTURE_PAYMENTS would set it. */
function moneyByOrder(batch: BatchEvents | undefined): Map<string, Record<string, unknown>> {
  const byOrder = new Map<string, Record<string, unknown>>();
  for (const { payload } of batch?.ofType(PAYMENT_ROW.eventType) ?? []) {
    const payment = payload as Record<string, unknown>;
    const orderId = payment.order_id as string;
    if (byOrder.has(orderId)) continue;
    byOrder.set(orderId, Object.fromEntries(money.map((column) => [column, payment[column]])));
  }
  return byOrder;
}

export const orderCreated = defineProcessor({
  eventType: ORDER_ROW.eventType,
  payloadSchema: orderCreatedPayload,
  async apply(sql, events, batch) {
    const paid = moneyByOrder(batch);
    // Built in the call: a local would hold the records until the statement is answered.
    await sql.query(INSERT_ORDERS, [JSON.stringify(events.map((event) => ({ ...event.payload, ...paid.get(event.payload.order_id), event_ts: event.ts })))]);
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
