import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/*
 * Types of every warehouse table and view, as node-postgres returns them: bigint (int8) and numeric
 * come back as strings (exact cents, no 2^53 limit), timestamptz as Date, jsonb parsed.
 */

/** numeric(12,2): read as a string such as "42.50"; write a string or a number. */
export type Money = ColumnType<string, string | number, string | number>;
/** bigint: read as a string; write a number, a bigint or a numeric string. */
export type Int8 = ColumnType<string, number | bigint | string, number | bigint | string>;
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamptz with a database default (now()). */
export type DefaultedTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
export type Json = ColumnType<unknown, string, string>;
/** A column of a view: readable only. */
type ViewColumn<T> = ColumnType<T, never, never>;

export type ServiceType = 'dine_in' | 'takeout' | 'delivery';

/**
 * The audit trail: every event stored once, keyed by `event_id`. Insert with
 * `ON CONFLICT (event_id) DO NOTHING` so a redelivered event is a no-op. The source's offsets restart
 * at 1 when it restarts, so an offset is only meaningful together with `stream_name` and
 * `source_epoch`. Write `payload` as JSON text (`JSON.stringify`, or `$n::jsonb[]` through unnest).
 */
export interface EventsRawTable {
  event_offset: Int8;
  event_id: string;
  event_type: string;
  ts: Timestamp;
  partition_key: string | null;
  payload: Json;
  ingested_at: DefaultedTimestamp;
  /** Defaults to the database user; the worker may write its workflow/activity identity. */
  ingested_by: ColumnType<string, string | undefined, string>;
  /** Which checkpoint stream ingested the event (e.g. `restaurant_realtime_stream`). */
  stream_name: string;
  /** Opaque label of the source run the offset belongs to; changes when the source restarts. */
  source_epoch: ColumnType<string, string | undefined, string>;
}

/**
 * Events that failed validation, kept with the reason; never retried automatically. Unique on
 * (stream_name, source_epoch, event_offset): insert with
 * `ON CONFLICT (stream_name, source_epoch, event_offset) DO NOTHING` so re-reading a range does not
 * count a rejection twice (rows without an offset never conflict).
 */
export interface EventsRejectedTable {
  id: Generated<string>;
  stream_name: string;
  source_epoch: ColumnType<string, string | undefined, string>;
  event_offset: Int8 | null;
  event_id: string | null;
  event_type: string | null;
  /** The event exactly as received (a JSON line, or whatever arrived). */
  raw: string;
  reason: string;
  received_at: DefaultedTimestamp;
  /** Size of an event rejected for being too large (`raw` then holds its first bytes only). */
  event_bytes: Int8 | null;
}

/**
 * One row per ingesting stream, upserted in the same transaction as the events it covers: the
 * checkpoint is `event_offset` within `source_epoch`. The `source_head_*`, `last_*` and
 * `events_total` columns let the database compute lag and freshness (`analytics.ingestion_status`,
 * `analytics.health_check()`).
 */
export interface StreamCheckpointsTable {
  stream_name: string;
  event_offset: Int8;
  source_epoch: ColumnType<string, string | undefined, string>;
  /** The event at `event_offset`: a source that answers another id at that offset has restarted. */
  last_event_id: string | null;
  /** Newest offset the source reported (SSE id, `/events` page or `/health`), in `source_epoch`. */
  source_head_offset: Int8 | null;
  source_head_seen_at: Timestamp | null;
  /** `ts` of the newest event stored so far. */
  last_event_ts: Timestamp | null;
  /** Commit time of the last batch that stored events. */
  last_batch_at: Timestamp | null;
  last_batch_size: ColumnType<number, number | undefined, number>;
  events_total: ColumnType<string, number | bigint | string | undefined, number | bigint | string>;
  updated_at: DefaultedTimestamp;
  /** The session allowed to commit (see migrations/0011_stream_ownership.ts); null after a rewind. */
  owner_token: string | null;
  owner_generation: ColumnType<string, number | bigint | string | undefined, number | bigint | string>;
  owner_since: Timestamp | null;
  /** The owning session's worker's presence key (see migrations/0017_worker_presence.ts). */
  owner_worker: number | null;
  owner_task_token: Buffer | null;
  /** The workflow reading this stream, and in which mode (see migrations/0012_stream_consumers.ts). */
  consumer_workflow_id: ColumnType<string | null, string | null | undefined, string | null>;
  consumer_mode: ColumnType<'realtime' | 'polling' | null, 'realtime' | 'polling' | null | undefined, 'realtime' | 'polling' | null>;
  consumer_claimed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** When a session last read this stream from its source (see migrations/0018_stream_read_marks.ts). */
  last_read_at: Timestamp | null;
}

/** A source restart noticed by the consumer (offsets went backwards): the new epoch and where the old one ended. */
export interface SourceEpochsTable {
  stream_name: string;
  source_epoch: string;
  /** First offset received in this epoch. */
  first_offset: Int8;
  previous_epoch: string | null;
  /** The checkpoint of the previous epoch when the restart was detected. */
  previous_offset: Int8 | null;
  detected_at: DefaultedTimestamp;
}

/**
 * A child event (item, payment, feedback) whose order has not landed yet. The writer moves these
 * into the facts, in `event_offset` order, in the transaction that inserts the order, and deletes
 * them here (`DELETE … WHERE order_id = ANY($1) RETURNING *`).
 */
export interface PendingChildrenTable {
  event_id: string;
  order_id: string;
  /** order_item_added, payment_captured, feedback_submitted, or a plugin processor's child type. */
  event_type: string;
  stream_name: string;
  source_epoch: ColumnType<string, string | undefined, string>;
  event_offset: Int8;
  ts: Timestamp;
  payload: Json;
  staged_at: DefaultedTimestamp;
}

/**
 * Orders, upserted on `order_id` from `order_created`; `payment_captured` fills the money columns,
 * which stay null until then. Set `updated_at = now()` when updating: no trigger does it.
 */
export interface OrdersTable {
  order_id: string;
  visit_id: string | null;
  service_type: ServiceType;
  order_ts: Timestamp;
  location_code: string;
  subtotal: Money | null;
  tax: Money | null;
  tip: Money | null;
  total: Money | null;
  created_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

/** CHECKs: unit_price > 0, qty > 0, extended_price >= 0; validate before inserting or the batch fails. */
export interface OrderItemsTable {
  order_item_id: string;
  order_id: string;
  menu_item_id: string | null;
  category: string;
  item_name: string;
  unit_price: Money;
  qty: number;
  extended_price: Money;
  created_at: DefaultedTimestamp;
}

/** CHECK amount > 0. */
export interface PaymentsTable {
  payment_id: string;
  order_id: string;
  method: string;
  provider: string | null;
  amount: Money;
  auth_code: string | null;
  processed_at: DefaultedTimestamp;
}

/** CHECKs: rating 1–5, nps 0–10. */
export interface FeedbackTable {
  feedback_id: string;
  order_id: string | null;
  customer_id: string | null;
  rating: number | null;
  nps: number | null;
  comment: string | null;
  created_ts: Timestamp;
  processed_at: DefaultedTimestamp;
}

/** Filled by the statement-level audit triggers on orders and payments; append-only for the application roles. */
export interface AuditLogTable {
  id: Generated<string>;
  timestamp: DefaultedTimestamp;
  user_name: ColumnType<string, string | undefined, string>;
  operation: 'INSERT' | 'UPDATE' | 'DELETE';
  table_name: string;
  record_id: string | null;
  old_values: Json | null;
  new_values: Json | null;
  details: Json | null;
}

export interface HourlySalesView {
  hour: ViewColumn<Date>;
  location_code: ViewColumn<string>;
  service_type: ViewColumn<ServiceType>;
  order_count: ViewColumn<string>;
  subtotal: ViewColumn<string>;
  tax: ViewColumn<string>;
  tip: ViewColumn<string>;
  total: ViewColumn<string>;
  avg_order_value: ViewColumn<string>;
}

export interface DailySalesView {
  day: ViewColumn<Date>;
  location_code: ViewColumn<string>;
  order_count: ViewColumn<string>;
  total_revenue: ViewColumn<string>;
  avg_order_value: ViewColumn<string>;
  total_tips: ViewColumn<string>;
  avg_tip: ViewColumn<string>;
}

export interface MenuPerformanceView {
  category: ViewColumn<string>;
  item_name: ViewColumn<string>;
  times_ordered: ViewColumn<string>;
  total_quantity_sold: ViewColumn<string>;
  total_revenue: ViewColumn<string>;
  avg_unit_price: ViewColumn<string>;
  avg_extended_price: ViewColumn<string>;
}

export interface SatisfactionSummaryView {
  day: ViewColumn<Date>;
  feedback_count: ViewColumn<string>;
  avg_rating: ViewColumn<string>;
  avg_nps: ViewColumn<string>;
  satisfaction_rate: ViewColumn<string>;
  promoter_rate: ViewColumn<string>;
  detractor_rate: ViewColumn<string>;
}

/** Every location the warehouse has seen, with its zone and the local time its business day starts. */
export interface LocationsTable {
  location_code: string;
  name: string | null;
  /** An IANA zone name, e.g. America/Toronto. */
  time_zone: string;
  /** A time of day, read as "04:00:00". */
  business_day_start: ColumnType<string, string | undefined, string>;
  time_zone_source: 'province' | 'warehouse default' | 'operator';
  first_seen_at: DefaultedTimestamp;
  updated_at: DefaultedTimestamp;
}

export interface LocationDailySalesView {
  /** A local date; node-postgres reads a date as midnight in the process's zone, so select business_day::text to keep it a date. */
  business_day: ViewColumn<Date>;
  location_code: ViewColumn<string>;
  time_zone: ViewColumn<string>;
  order_count: ViewColumn<string>;
  total_revenue: ViewColumn<string>;
  avg_order_value: ViewColumn<string>;
  total_tips: ViewColumn<string>;
  avg_tip: ViewColumn<string>;
}

export interface IngestionStatusView {
  stream_name: ViewColumn<string>;
  source_epoch: ViewColumn<string>;
  event_offset: ViewColumn<string>;
  source_head_offset: ViewColumn<string | null>;
  lag_events: ViewColumn<string | null>;
  lag_seconds: ViewColumn<string | null>;
  last_event_ts: ViewColumn<Date | null>;
  last_batch_at: ViewColumn<Date | null>;
  last_batch_size: ViewColumn<number>;
  seconds_since_last_batch: ViewColumn<string | null>;
  events_total: ViewColumn<string>;
  rejected_last_hour: ViewColumn<string>;
  rejected_total: ViewColumn<string>;
  last_rejected_at: ViewColumn<Date | null>;
  source_restarts: ViewColumn<string>;
  last_source_restart_at: ViewColumn<Date | null>;
  updated_at: ViewColumn<Date>;
}

/** `analytics.stream_reading`: per stream, when it was last read and committed, and since when it waits (migrations/0018). */
export interface StreamReadingView {
  stream_name: ViewColumn<string>;
  consumer_mode: ViewColumn<'realtime' | 'polling' | null>;
  last_read_at: ViewColumn<Date | null>;
  seconds_since_last_read: ViewColumn<string | null>;
  last_committed_at: ViewColumn<Date | null>;
  seconds_since_last_commit: ViewColumn<string | null>;
  /** Realtime streams no session has read for a few seconds: since when they wait. */
  waiting_since: ViewColumn<Date | null>;
}

export interface WarehouseDatabase {
  'raw_data.events_raw': EventsRawTable;
  'raw_data.events_rejected': EventsRejectedTable;
  'raw_data.stream_checkpoints': StreamCheckpointsTable;
  'raw_data.source_epochs': SourceEpochsTable;
  'staging.pending_children': PendingChildrenTable;
  'analytics.orders': OrdersTable;
  'analytics.order_items': OrderItemsTable;
  'analytics.payments': PaymentsTable;
  'analytics.feedback': FeedbackTable;
  'analytics.audit_log': AuditLogTable;
  'analytics.hourly_sales': HourlySalesView;
  'analytics.daily_sales': DailySalesView;
  'analytics.menu_performance': MenuPerformanceView;
  'analytics.satisfaction_summary': SatisfactionSummaryView;
  'analytics.ingestion_status': IngestionStatusView & StreamReadingView;
  'analytics.stream_reading': StreamReadingView;
  'analytics.locations': LocationsTable;
  'analytics.location_daily_sales': LocationDailySalesView;
}

export type NewEventRaw = Insertable<EventsRawTable>;
export type NewRejectedEvent = Insertable<EventsRejectedTable>;
export type StreamCheckpoint = Selectable<StreamCheckpointsTable>;
export type NewStreamCheckpoint = Insertable<StreamCheckpointsTable>;
export type NewSourceEpoch = Insertable<SourceEpochsTable>;
export type PendingChild = Selectable<PendingChildrenTable>;
export type NewPendingChild = Insertable<PendingChildrenTable>;
export type NewOrder = Insertable<OrdersTable>;
export type NewOrderItem = Insertable<OrderItemsTable>;
export type NewPayment = Insertable<PaymentsTable>;
export type NewFeedback = Insertable<FeedbackTable>;
export type AuditLogEntry = Selectable<AuditLogTable>;
