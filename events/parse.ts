import type { z } from 'zod';
import { envelopeSchema, isKnownEventType, knownEventSchema, type Envelope, type KnownEvent } from './envelope.js';

export type EnvelopeParse = { ok: true; event: Envelope } | { ok: false; reason: string };
export type KnownEventParse = { ok: true; event: KnownEvent } | { ok: false; reason: string };
/** A valid event is either one of the four known types (payload validated) or an unknown type kept as an envelope. */
export type EventParse =
  | { ok: true; known: true; event: KnownEvent }
  | { ok: true; known: false; event: Envelope }
  | { ok: false; reason: string };

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** One line naming every failing field and the value found there, e.g. `payload.qty: Too small: expected number to be >0 (got -1)`. */
function describe(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.map((key) => (typeof key === 'number' ? `[${key}]` : String(key))).join('.').replaceAll('.[', '[');
      const value = valueAt(input, issue.path);
      const got = value === undefined || issue.code === 'invalid_type' ? '' : ` (got ${shown(value)})`;
      return `${where || 'event'}: ${issue.message}${got}`;
    })
    .join('; ');
}

/** Checks the envelope only: any `event_type`, `payload` any object. */
export function parseEnvelope(input: unknown): EnvelopeParse {
  const parsed = envelopeSchema.safeParse(input);
  return parsed.success ? { ok: true, event: parsed.data } : { ok: false, reason: describe(parsed.error, input) };
}

/** Checks one of the four known event types with its payload; any other type is refused. */
export function parseKnownEvent(input: unknown): KnownEventParse {
  const envelope = parseEnvelope(input);
  if (!envelope.ok) return envelope;
  if (!isKnownEventType(envelope.event.event_type)) {
    return { ok: false, reason: `event_type: not one of the known types (got ${shown(envelope.event.event_type)})` };
  }
  const parsed = knownEventSchema.safeParse(input);
  if (parsed.success) return { ok: true, event: parsed.data };
  return { ok: false, reason: `${envelope.event.event_type} ${describe(parsed.error, input)}` };
}

/** What a consumer does with every incoming event: validate a known type fully, keep an unknown type as an envelope. */
export function parseEvent(input: unknown): EventParse {
  const envelope = parseEnvelope(input);
  if (!envelope.ok) return envelope;
  if (!isKnownEventType(envelope.event.event_type)) return { ok: true, known: false, event: envelope.event };
  const known = parseKnownEvent(input);
  return known.ok ? { ok: true, known: true, event: known.event } : known;
}

/** `parseEvent` for raw wire text (an SSE `data:` line), reporting JSON that does not parse as such. */
export function parseEventText(text: string): EventParse {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  return parseEvent(input);
}
