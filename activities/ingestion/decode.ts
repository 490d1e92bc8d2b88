import { envelopeSchema, type Envelope } from '../../events/envelope.js';
import { isEnvelope, payloadCheckOf } from '../../events/hot-path-checks.js';
import { describeIssues } from '../../events/issues.js';
import type { AcceptedEvent, ProcessorRegistry } from '../../processors/processor.js';

/**
 * One message from the source, judged:
 * - `event`: a well-formed envelope. It is kept in the raw audit trail; `problem` says why it is not
 *   applied to the facts (invalid payload, no processor for its type) and sends it to events_rejected.
 * - `unreadable`: not JSON, or no valid envelope: only events_rejected, with the raw text.
 */
export type DecodedMessage =
  | {
      kind: 'event';
      offset: number;
      eventId: string;
      event: AcceptedEvent;
      problem: string | null;
      /** The envelope's JSON text as received, when validation left its payload as it came: the batch keeps this rather than `event`. */
      received?: string;
    }
  | { kind: 'unreadable'; offset: number | null; eventId: string | null; raw: string; reason: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** Decodes a parsed JSON value; `offsetHint` is where the transport placed it (SSE `id:`, page position). */
export function decodeValue(value: unknown, offsetHint: number | null, epoch: number, processors: ProcessorRegistry, rawText?: string): DecodedMessage {
  if (typeof value === 'string') return decodeText(value, offsetHint, epoch, processors);
  let envelope: Envelope;
  if (isEnvelope(value)) envelope = value;
  else {
    const parsed = envelopeSchema.safeParse(value);
    if (!parsed.success) {
      const offset = field(value, 'offset');
      const eventId = field(value, 'event_id');
      return {
        kind: 'unreadable',
        offset: typeof offset === 'number' && Number.isSafeInteger(offset) && offset > 0 ? offset : offsetHint,
        eventId: typeof eventId === 'string' && UUID.test(eventId) ? eventId : null,
        raw: rawText ?? JSON.stringify(value),
        reason: `invalid envelope: ${describeIssues(parsed.error, value, { root: 'event' })}`,
      };
    }
    envelope = parsed.data;
  }
  const { offset, event_id: eventId, event_type: eventType, ts, partition_key: partitionKey, payload } = envelope;
  const event: AcceptedEvent = { offset, epoch, eventId, eventType, ts, partitionKey, payload };
  const processor = processors.get(eventType);
  if (!processor) return { kind: 'event', offset, eventId, event, problem: `no processor for event type "${eventType}" (kept in raw_data.events_raw)`, received: rawText };
  // Valid as it stands (the common case): kept as is, without zod's validated copy.
  if (payloadCheckOf(processor.payloadSchema)?.(payload)) return { kind: 'event', offset, eventId, event, problem: null, received: rawText };
  const parsed = processor.payloadSchema.safeParse(payload);
  if (!parsed.success) return { kind: 'event', offset, eventId, event, problem: `invalid ${eventType} payload: ${describeIssues(parsed.error, payload, { root: 'payload' })}`, received: rawText };
  // zod's output may differ from what arrived (defaults, coercions): the event is kept as validated.
  event.payload = parsed.data;
  return { kind: 'event', offset, eventId, event, problem: null };
}

/** Decodes the raw text of an SSE `data:` field (or a malformed event a page served as a string). */
export function decodeText(text: string, offsetHint: number | null, epoch: number, processors: ProcessorRegistry): DecodedMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'unreadable', offset: offsetHint, eventId: null, raw: text, reason: `malformed JSON: ${(error as Error).message}` };
  }
  return decodeValue(value, offsetHint, epoch, processors, text);
}
