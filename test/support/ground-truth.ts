import { knownEventSchema, type KnownEvent } from '../../events/index.js';
import type { EventFeed } from '../../generator-api/index.js';

/** What the source produced, read from its retention: the truth ingestion is checked against. */
export interface GroundTruth {
  /** Every offset the source produced, once (duplicate deliveries folded). */
  offsets: number;
  /** event_ids of every well-formed envelope. */
  eventIds: Set<string>;
  /** Offsets whose text is not JSON. */
  malformed: number;
  /** Envelopes whose payload breaks the contract. */
  invalid: number;
  valid: KnownEvent[];
  byType: Record<string, number>;
}

export function groundTruth(api: EventFeed): GroundTruth {
  const seen = new Set<number>();
  const truth: GroundTruth = { offsets: 0, eventIds: new Set(), malformed: 0, invalid: 0, valid: [], byType: {} };
  for (const wire of api.retained(0, Number.MAX_SAFE_INTEGER)) {
    if (seen.has(wire.offset)) continue;
    seen.add(wire.offset);
    truth.offsets += 1;
    if (wire.malformed) {
      truth.malformed += 1;
      continue;
    }
    const envelope = JSON.parse(wire.text) as { event_id: string; event_type: string };
    truth.eventIds.add(envelope.event_id);
    truth.byType[envelope.event_type] = (truth.byType[envelope.event_type] ?? 0) + 1;
    const known = knownEventSchema.safeParse(envelope);
    if (known.success) truth.valid.push(known.data);
    else truth.invalid += 1;
  }
  return truth;
}

const cents = (value: number) => Math.round(value * 100);

/**
 * The facts the valid events imply, in cents to keep sums exact. A valid child whose order was
 * rejected has no order to join: it stays in staging (and is reported there), not in the facts.
 */
export function expectedFacts(valid: readonly KnownEvent[]) {
  const facts = { orders: 0, items: 0, payments: 0, feedback: 0, itemCents: 0, paymentCents: 0, tipCents: 0, quantity: 0, staged: 0 };
  const orders = new Set(valid.flatMap((event) => (event.event_type === 'order_created' ? [event.payload.order_id] : [])));
  for (const event of valid) {
    if (event.event_type !== 'order_created' && !orders.has(event.payload.order_id)) {
      facts.staged += 1;
      continue;
    }
    switch (event.event_type) {
      case 'order_created':
        facts.orders += 1;
        break;
      case 'order_item_added':
        facts.items += 1;
        facts.itemCents += cents(event.payload.extended_price);
        facts.quantity += event.payload.qty;
        break;
      case 'payment_captured':
        facts.payments += 1;
        facts.paymentCents += cents(event.payload.amount);
        facts.tipCents += cents(event.payload.tip);
        break;
      case 'feedback_submitted':
        facts.feedback += 1;
        break;
    }
  }
  return facts;
}
