import { describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../events/envelope.js';
import { isEnvelope, payloadCheckOf } from '../../events/hot-path-checks.js';
import { feedbackSubmittedPayload, orderCreatedPayload, orderItemAddedPayload, paymentCapturedPayload } from '../../events/payloads.js';
import { generateEvents } from '../../generator-api/index.js';
import type { z } from 'zod';

const SCHEMAS: Record<string, z.ZodType> = {
  order_created: orderCreatedPayload,
  order_item_added: orderItemAddedPayload,
  payment_captured: paymentCapturedPayload,
  feedback_submitted: feedbackSubmittedPayload,
};

/** The generator's events, with its invalid payloads and broken JSON mixed in. */
const events = generateEvents({ seed: 'hot-path', rate: 'max', invalidRate: 0.2, malformedRate: 0.05 }, 4_000).flatMap((event) => {
  try {
    return [JSON.parse(event.text) as Record<string, unknown>];
  } catch {
    return [];
  }
});

/** Values a field may wrongly hold: each replaces every field of every payload in turn. */
const WRONG_VALUES: readonly unknown[] = [
  undefined,
  null,
  '',
  'x',
  0,
  -1,
  1.5,
  0.001,
  10.005,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  2 ** 53,
  true,
  [],
  {},
  '2026-13-01T00:00:00Z',
  '2026-11-24T17:06:17',
  '2026-11-24T17:06:17.5+00:00',
  '6f1c2a8e-0d4b-4c8a-9f3e-2b7d5a1c9e0f',
  '6F1C2A8E-0D4B-4C8A-9F3E-2B7D5A1C9E0F',
  '6f1c2a8e-0d4b-0c8a-9f3e-2b7d5a1c9e0f',
  'LOC-ON-007',
  'loc-on-007',
  'ABC12F',
  'abc12f',
  'cash',
  'VISA',
  'dine_in',
  'pizza',
];

/** A check may say "no" where zod says yes (zod then decides); it must never say yes where zod would not, or differ in output. */
function expectAgrees(check: (value: unknown) => boolean, schema: z.ZodType, value: unknown): void {
  if (!check(value)) return;
  const parsed = schema.safeParse(value);
  expect(parsed.success, JSON.stringify(value)).toBe(true);
  expect(parsed.data).toEqual(value);
}

describe('hot-path checks hold to the zod schemas', () => {
  it('pass every valid generated event as zod does, so the fast path is the common one', () => {
    let valid = 0;
    for (const event of events) {
      expect(isEnvelope(event)).toBe(envelopeSchema.safeParse(event).success);
      const schema = SCHEMAS[event.event_type as string];
      if (!schema || !isEnvelope(event)) continue;
      const zodSays = schema.safeParse(event.payload);
      expect(payloadCheckOf(schema)!(event.payload), JSON.stringify(event.payload)).toBe(zodSays.success);
      if (zodSays.success) {
        expect(zodSays.data).toEqual(event.payload);
        valid += 1;
      }
    }
    expect(valid).toBeGreaterThan(3_000);
  });

  it('never accept a payload zod rejects or would change: every field replaced, removed, or joined by an unknown key', () => {
    const samples = new Map<string, Record<string, unknown>>();
    for (const event of events) if (SCHEMAS[event.event_type as string]?.safeParse(event.payload).success) samples.set(event.event_type as string, event.payload as Record<string, unknown>);
    expect([...samples.keys()].sort()).toEqual(Object.keys(SCHEMAS).sort());
    for (const [eventType, payload] of samples) {
      const schema = SCHEMAS[eventType]!;
      const check = payloadCheckOf(schema)!;
      for (const key of Object.keys(payload)) {
        for (const wrong of WRONG_VALUES) expectAgrees(check, schema, { ...payload, [key]: wrong });
        const { [key]: _removed, ...without } = payload;
        expectAgrees(check, schema, without);
        expectAgrees(check, schema, { ...without, unknown_field: payload[key] });
      }
      expect(check({ ...payload, unknown_field: 1 })).toBe(false);
      for (const notObject of [null, [], 'payload', 42, Object.create(null)]) expectAgrees(check, schema, notObject);
    }
  });

  it('never accept an envelope zod rejects: every field replaced or removed', () => {
    const envelope = events.find((event) => envelopeSchema.safeParse(event).success)!;
    for (const key of Object.keys(envelope)) {
      for (const wrong of WRONG_VALUES) {
        const value = { ...envelope, [key]: wrong };
        if (isEnvelope(value)) expect(envelopeSchema.safeParse(value).success, JSON.stringify(value)).toBe(true);
      }
      const { [key]: _removed, ...without } = envelope;
      expect(isEnvelope(without)).toBe(false);
    }
  });
});
