import type { ZodType } from 'zod';

/** The part of a pg client a processor may use: inside the batch's transaction. */
export interface SqlClient {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: Row[]; rowCount: number | null }>;
}

/** An event whose envelope and payload passed validation, ready to be applied. */
export interface AcceptedEvent<Payload = unknown> {
  offset: number;
  epoch: number;
  eventId: string;
  eventType: string;
  ts: string;
  partitionKey: string;
  payload: Payload;
}

/** The batch a processor's events come from: every applicable event of a type, in stream order. */
export interface BatchEvents {
  ofType(eventType: string): readonly AcceptedEvent[];
}

/**
 * Turns one event type into warehouse rows. The built-in processors cover the four restaurant event
 * types; a plugin module (EVENT_PROCESSORS_MODULE) can add types or replace a built-in one.
 * `apply` receives a whole batch of one type and runs inside the batch's transaction: write it with
 * set-based SQL (one JSON recordset, see `payloadRecords`), and make it idempotent — a batch may be applied more than once.
 * The writer pipelines the statements `apply` issues before its first `await` with the rest of the
 * batch's (one round trip); a statement issued after an `await` goes in a later round trip.
 */
export interface EventProcessor<Payload = unknown> {
  readonly eventType: string;
  readonly payloadSchema: ZodType<Payload>;
  /** For events that belong to an order: which one. They wait in staging until that order has landed. */
  readonly orderIdOf?: (payload: Payload) => string;
  /** `batch`: the other events of the batch being written (absent for children released from staging). */
  apply(sql: SqlClient, events: readonly AcceptedEvent<Payload>[], batch?: BatchEvents): Promise<void>;
}

/**
 * A batch as one JSON parameter for `jsonb_to_recordset($1::jsonb) AS p(<payload field> <type>, …)`:
 * each record is the event's payload plus `event_ts`, the event's `ts`. Columns not named in the
 * recordset's definition are ignored, so a processor declares just the fields it writes.
 */
export function payloadRecords(events: readonly AcceptedEvent[]): string {
  return JSON.stringify(events.map((event) => ({ ...(event.payload as object), event_ts: event.ts })));
}

/** Keeps the payload type flowing from the schema into `apply` and `orderIdOf`. */
export function defineProcessor<Payload>(processor: EventProcessor<Payload>): EventProcessor<Payload> {
  return processor;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a registry holds processors of every payload type
export type AnyEventProcessor = EventProcessor<any>;

/** The processors in the order their types are applied within a batch (parents before children). */
export class ProcessorRegistry {
  private readonly byType = new Map<string, AnyEventProcessor>();

  constructor(processors: readonly AnyEventProcessor[]) {
    for (const processor of processors) this.byType.set(processor.eventType, processor);
  }

  /** A registry where `overrides` replace processors of the same type (keeping their place) or come last. */
  with(overrides: readonly AnyEventProcessor[]): ProcessorRegistry {
    return new ProcessorRegistry([...this.byType.values(), ...overrides]);
  }

  get(eventType: string): AnyEventProcessor | undefined {
    return this.byType.get(eventType);
  }

  get inOrder(): readonly AnyEventProcessor[] {
    return [...this.byType.values()];
  }
}
