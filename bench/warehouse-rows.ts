import type { WireEvent } from '../generator-api/index.js';

/*
 * The rows an event becomes, column for column as the worker writes them (activities/warehouse/
 * batch-writer.ts and activities/processors/restaurant-facts.ts), for the measurements that write
 * the same rows another way: COPY (the floor) and one INSERT per event (the old way).
 */

export interface Envelope {
  readonly offset: number;
  readonly event_id: string;
  readonly event_type: string;
  readonly ts: string;
  readonly partition_key: string;
  readonly payload: Record<string, unknown>;
}

export const parseEnvelopes = (events: readonly WireEvent[]): Envelope[] => events.map((event) => JSON.parse(event.text) as Envelope);

export interface RowShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly values: (event: Envelope) => unknown[];
}

const fromPayload =
  (...keys: string[]) =>
  (event: Envelope) =>
    keys.map((key) => event.payload[key]);

export const RAW_ROW: RowShape = {
  table: 'raw_data.events_raw',
  columns: ['event_offset', 'event_id', 'event_type', 'ts', 'partition_key', 'payload', 'stream_name', 'source_epoch', 'ingested_by'],
  values: (e) => [e.offset, e.event_id, e.event_type, e.ts, e.partition_key, JSON.stringify(e.payload), 'bench', '1', 'bench'],
};

/** The fact row of each event type, in the order the worker applies them (an order before its children). */
export const FACT_ROWS: Readonly<Record<string, RowShape>> = {
  order_created: {
    table: 'analytics.orders',
    columns: ['order_id', 'visit_id', 'service_type', 'order_ts', 'location_code'],
    values: fromPayload('order_id', 'visit_id', 'service_type', 'order_ts', 'location_code'),
  },
  order_item_added: {
    table: 'analytics.order_items',
    columns: ['order_item_id', 'order_id', 'menu_item_id', 'category', 'item_name', 'unit_price', 'qty', 'extended_price', 'created_at'],
    values: (e) => [...fromPayload('order_item_id', 'order_id', 'menu_item_id', 'category', 'item_name', 'unit_price', 'qty', 'extended_price')(e), e.ts],
  },
  payment_captured: {
    table: 'analytics.payments',
    columns: ['payment_id', 'order_id', 'method', 'provider', 'amount', 'auth_code', 'processed_at'],
    values: (e) => [...fromPayload('payment_id', 'order_id', 'method', 'provider', 'amount', 'auth_code')(e), e.ts],
  },
  feedback_submitted: {
    table: 'analytics.feedback',
    columns: ['feedback_id', 'order_id', 'customer_id', 'rating', 'nps', 'comment', 'created_ts'],
    values: fromPayload('feedback_id', 'order_id', 'customer_id', 'rating', 'nps', 'comment', 'created_ts'),
  },
};

/** A captured payment also fills its order's money columns. */
export const ORDER_MONEY = {
  columns: ['subtotal', 'tax', 'tip', 'total'],
  values: fromPayload('subtotal', 'tax', 'tip', 'total'),
  orderId: (e: Envelope) => String(e.payload.order_id),
} as const;
