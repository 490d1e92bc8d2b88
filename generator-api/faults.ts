import type { EventBody, KnownEventType } from '../events/index.js';
import type { Micros } from './clock.js';
import { Random, STREAM, type SeedKey } from './random.js';
import type { SimulatedEvent, SimulatedOrder } from './simulation.js';

/** Failure injected on purpose, for testing consumers. All off by default. */
export interface Faults {
  /** End every SSE connection once it has carried this many events (0: never). */
  readonly dropEvery: number;
  /** Chance, per real event, that an event with broken JSON follows it. */
  readonly malformedRate: number;
  /** Chance, per real event, that a well-formed event whose payload breaks the contract follows it. */
  readonly invalidRate: number;
  /** Chance that an event is sent twice in a row on the stream (same offset, same event_id). */
  readonly duplicateRate: number;
  /** Chance that an order's items and payment come before its order_created. */
  readonly childrenFirstRate: number;
}

export const NO_FAULTS: Faults = { dropEvery: 0, malformedRate: 0, invalidRate: 0, duplicateRate: 0, childrenFirstRate: 0 };

/** How a malformed event's JSON text is broken. */
export const BREAKAGES = ['truncated', 'single_quotes', 'trailing_garbage', 'nan_offset'] as const;
export type Breakage = (typeof BREAKAGES)[number];

/** One event as it will go on the wire, before it gets its offset. */
export interface Emission {
  readonly eventId: string;
  readonly at: Micros;
  readonly eventType: string;
  readonly partitionKey: string;
  /** A payload of the contract, or one broken on purpose. */
  readonly payload: object;
  readonly breakage: Breakage | null;
  readonly duplicate: boolean;
}

type Payload = Record<string, unknown>;

const without = (payload: Payload, field: string): Payload => {
  const { [field]: _removed, ...rest } = payload;
  return rest;
};

/** The field that identifies what each event creates: a violating copy gets a fresh one, so it never collides with a real row. */
const PRIMARY_ID: Readonly<Record<KnownEventType, string>> = {
  order_created: 'order_id',
  order_item_added: 'order_item_id',
  payment_captured: 'payment_id',
  feedback_submitted: 'feedback_id',
};

/** Ways a payload can break the contract while its envelope stays valid. */
const VIOLATIONS: Readonly<Record<KnownEventType, ReadonlyArray<(payload: Payload) => Payload>>> = {
  order_created: [
    (payload) => ({ ...payload, service_type: 'drive_thru' }),
    (payload) => ({ ...payload, order_id: 'ORD-0001' }),
    (payload) => without(payload, 'location_code'),
  ],
  order_item_added: [
    (payload) => ({ ...payload, qty: -1, extended_price: -Number(payload.unit_price) }),
    (payload) => ({ ...payload, unit_price: Number(payload.unit_price) + 0.005 }),
    (payload) => without(payload, 'order_id'),
  ],
  payment_captured: [
    (payload) => without(payload, 'order_id'),
    (payload) => ({ ...payload, method: 'crypto' }),
    (payload) => ({ ...payload, amount: -Number(payload.amount) }),
  ],
  feedback_submitted: [
    (payload) => ({ ...payload, rating: 7 }),
    (payload) => ({ ...payload, nps: 11 }),
    (payload) => ({ ...payload, customer_id: null }),
  ],
};

/** Breaks an envelope's compact JSON text, keeping it on one line (an SSE `data:` field cannot hold a newline). */
export function breakJson(text: string, breakage: Breakage): string {
  switch (breakage) {
    case 'truncated':
      return text.slice(0, Math.floor(text.length * 0.6));
    case 'single_quotes':
      return text.replaceAll('"', "'");
    case 'trailing_garbage':
      return `${text}}`;
    case 'nan_offset':
      return text.replace(/^\{"offset":\d+/, '{"offset":NaN');
  }
}

const isChild = (body: EventBody) => body.event_type === 'order_item_added' || body.event_type === 'payment_captured';

/**
 * The emissions of one order under `faults`: its events, possibly reordered children first, each
 * possibly followed by a malformed and a violating event, any of them possibly sent twice. The
 * decisions come from the order's own fault stream, so they repeat for a seed.
 */
export function arrangeOrder(order: SimulatedOrder, faults: Faults, key: SeedKey): Emission[] {
  const random = Random.stream(key, STREAM.faults, order.index);
  let events: readonly SimulatedEvent[] = order.events;
  if (random.chance(faults.childrenFirstRate)) {
    const children = events.filter((event) => isChild(event.body));
    const created = events.filter((event) => event.body.event_type === 'order_created');
    const feedback = events.filter((event) => event.body.event_type === 'feedback_submitted');
    events = [...children, ...created, ...feedback];
  }
  const emissions: Emission[] = [];
  const emit = (at: Micros, eventId: string, eventType: string, payload: object, breakage: Breakage | null) =>
    emissions.push({ eventId, at, eventType, partitionKey: order.locationCode, payload, breakage, duplicate: random.chance(faults.duplicateRate) });
  for (const { eventId, at, body } of events) {
    emit(at, eventId, body.event_type, body.payload, null);
    if (random.chance(faults.malformedRate)) emit(at, random.uuid(), body.event_type, body.payload, random.pick(BREAKAGES));
    if (random.chance(faults.invalidRate)) {
      const fresh = { ...body.payload, [PRIMARY_ID[body.event_type]]: random.uuid() };
      emit(at, random.uuid(), body.event_type, random.pick(VIOLATIONS[body.event_type])(fresh), null);
    }
  }
  return emissions;
}
