import type { WireEvent } from '../generator-api/index.js';
import { factValues, FACT_ROWS, ORDER_MONEY_COLUMNS, type FactColumn } from '../processors/fact-rows.js';

/*
 * The rows an event becomes, for the measurements that write the worker's rows another way: COPY (the
 * floor) and one INSERT per event (the old way). The fact rows are the product's own mapping
 * (processors/fact-rows.ts); the raw row is the batch writer's.
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

export const RAW_ROW: RowShape = {
  table: 'raw_data.events_raw',
  columns: ['event_offset', 'event_id', 'event_type', 'ts', 'partition_key', 'payload', 'stream_name', 'source_epoch', 'ingested_by'],
  values: (e) => [e.offset, e.event_id, e.event_type, e.ts, e.partition_key, JSON.stringify(e.payload), 'bench', '1', 'bench'],
};

const shapeOf = (table: string, columns: readonly FactColumn[]): RowShape => ({
  table,
  columns: columns.map((c) => c.column),
  values: (event) => factValues(columns, event),
});

/** The fact row of each event type, in the order the worker applies them (an order before its children). */
export const FACT_SHAPES: ReadonlyMap<string, RowShape> = new Map(FACT_ROWS.map((row) => [row.eventType, shapeOf(row.table, row.columns)]));

/** A captured payment also fills its order's money columns. */
export const ORDER_MONEY = {
  ...shapeOf('analytics.orders', ORDER_MONEY_COLUMNS),
  orderId: (e: Envelope) => String(e.payload.order_id),
} as const;
