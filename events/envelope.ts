import { z } from 'zod';
import { timestamp, uuid } from './fields.js';
import { feedbackSubmittedPayload, orderCreatedPayload, orderItemAddedPayload, paymentCapturedPayload } from './payloads.js';

/**
 * Any event a source may send. `event_type` is any string because a source may add types, which a
 * consumer keeps rather than drops; `payload` is then only known to be an object.
 */
export const envelopeSchema = z.object({
  offset: z.int().min(1),
  event_id: uuid,
  event_type: z.string().min(1),
  ts: timestamp,
  partition_key: z.string().min(1),
  payload: z.record(z.string(), z.unknown()),
});
export type Envelope = z.infer<typeof envelopeSchema>;

const typed = <Type extends string, Payload extends z.ZodType>(eventType: Type, payload: Payload) =>
  envelopeSchema.extend({ event_type: z.literal(eventType), payload });

export const orderCreatedEvent = typed('order_created', orderCreatedPayload);
export const orderItemAddedEvent = typed('order_item_added', orderItemAddedPayload);
export const paymentCapturedEvent = typed('payment_captured', paymentCapturedPayload);
export const feedbackSubmittedEvent = typed('feedback_submitted', feedbackSubmittedPayload);

/** The four event types of the contract, each with its payload validated. */
export const knownEventSchema = z.discriminatedUnion('event_type', [
  orderCreatedEvent,
  orderItemAddedEvent,
  paymentCapturedEvent,
  feedbackSubmittedEvent,
]);

export type OrderCreatedEvent = z.infer<typeof orderCreatedEvent>;
export type OrderItemAddedEvent = z.infer<typeof orderItemAddedEvent>;
export type PaymentCapturedEvent = z.infer<typeof paymentCapturedEvent>;
export type FeedbackSubmittedEvent = z.infer<typeof feedbackSubmittedEvent>;
export type KnownEvent = z.infer<typeof knownEventSchema>;
export type KnownEventType = KnownEvent['event_type'];
/** The known event of one type, e.g. `EventOf<'payment_captured'>`. */
export type EventOf<Type extends KnownEventType> = Extract<KnownEvent, { event_type: Type }>;
/** What distinguishes one known event from another: its type and payload, without the envelope's stream fields. */
export type EventBody = { [Type in KnownEventType]: Pick<EventOf<Type>, 'event_type' | 'payload'> }[KnownEventType];

export const KNOWN_EVENT_TYPES = ['order_created', 'order_item_added', 'payment_captured', 'feedback_submitted'] as const satisfies readonly KnownEventType[];

export function isKnownEventType(eventType: string): eventType is KnownEventType {
  return (KNOWN_EVENT_TYPES as readonly string[]).includes(eventType);
}
