/**
 * The one mapping from a restaurant event to its fact row: table, key and, per column, the payload
 * field (or `event_ts`, the envelope's ts) it comes from and its SQL type. The processors build their
 * set-based SQL from it; the benchmark's COPY floor and naive baseline write the same rows from it.
 */

export interface FactColumn {
  readonly column: string;
  /** The payload field the value comes from, or `event_ts` for the envelope's ts. */
  readonly field: string;
  readonly sqlType: string;
}

export interface FactRow {
  readonly eventType: string;
  readonly table: string;
  readonly key: string;
  readonly columns: readonly FactColumn[];
}

const col = (column: string, sqlType: string, field = column): FactColumn => ({ column, field, sqlType });

export const ORDER_ROW: FactRow = {
  eventType: 'order_created',
  table: 'analytics.orders',
  key: 'order_id',
  columns: [col('order_id', 'uuid'), col('visit_id', 'uuid'), col('service_type', 'text'), col('order_ts', 'timestamptz'), col('location_code', 'text')],
};

export const ORDER_ITEM_ROW: FactRow = {
  eventType: 'order_item_added',
  table: 'analytics.order_items',
  key: 'order_item_id',
  columns: [
    col('order_item_id', 'uuid'),
    col('order_id', 'uuid'),
    col('menu_item_id', 'uuid'),
    col('category', 'text'),
    col('item_name', 'text'),
    col('unit_price', 'numeric'),
    col('qty', 'int'),
    col('extended_price', 'numeric'),
    col('created_at', 'timestamptz', 'event_ts'),
  ],
};

export const PAYMENT_ROW: FactRow = {
  eventType: 'payment_captured',
  table: 'analytics.payments',
  key: 'payment_id',
  columns: [
    col('payment_id', 'uuid'),
    col('order_id', 'uuid'),
    col('method', 'text'),
    col('provider', 'text'),
    col('amount', 'numeric'),
    col('auth_code', 'text'),
    col('processed_at', 'timestamptz', 'event_ts'),
  ],
};

/** A captured payment also fills its order's money columns. */
export const ORDER_MONEY_COLUMNS: readonly FactColumn[] = [col('subtotal', 'numeric'), col('tax', 'numeric'), col('tip', 'numeric'), col('total', 'numeric')];

export const FEEDBACK_ROW: FactRow = {
  eventType: 'feedback_submitted',
  table: 'analytics.feedback',
  key: 'feedback_id',
  columns: [
    col('feedback_id', 'uuid'),
    col('order_id', 'uuid'),
    col('customer_id', 'uuid'),
    col('rating', 'int'),
    col('nps', 'int'),
    col('comment', 'text'),
    col('created_ts', 'timestamptz'),
  ],
};

/** In the order they are applied within a batch: an order before its items, payment and feedback. */
export const FACT_ROWS: readonly FactRow[] = [ORDER_ROW, ORDER_ITEM_ROW, PAYMENT_ROW, FEEDBACK_ROW];

/** `jsonb_to_recordset($1::jsonb) AS p(field type, …)` reading the given columns' fields. */
export function recordsetOf(columns: readonly FactColumn[]): string {
  const fields = new Map(columns.map(({ field, sqlType }) => [field, sqlType]));
  return `jsonb_to_recordset($1::jsonb) AS p(${[...fields].map(([field, sqlType]) => `${field} ${sqlType}`).join(', ')})`;
}

/** The idempotent set-based insert of a batch of one event type's rows. */
export function insertFactRows(row: FactRow): string {
  return `INSERT INTO ${row.table} (${row.columns.map((c) => c.column).join(', ')})
       SELECT ${row.columns.map((c) => `p.${c.field}`).join(', ')}
       FROM ${recordsetOf(row.columns)}
       ON CONFLICT (${row.key}) DO NOTHING`;
}

/** One event's column values, in the row's column order. */
export function factValues(columns: readonly FactColumn[], event: { readonly ts: string; readonly payload: Record<string, unknown> }): unknown[] {
  return columns.map(({ field }) => (field === 'event_ts' ? event.ts : event.payload[field]));
}
