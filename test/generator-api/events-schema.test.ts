import { describe, expect, it } from 'vitest';
import type { KnownEventType } from '../../events/index.js';
import { generateEvents } from '../../generator-api/index.js';
import { verdictOf } from '../support/verdict.js';

const samples = generateEvents({ seed: 'schema' }, 200).map((event) => JSON.parse(event.text) as Record<string, unknown> & { event_type: KnownEventType; payload: Record<string, unknown> });
const sample = (type: KnownEventType) => structuredClone(samples.find((event) => event.event_type === type)!);
const withPayload = (type: KnownEventType, change: Record<string, unknown>) => {
  const event = sample(type);
  return { ...event, payload: { ...event.payload, ...change } };
};

describe('the events/ schemas, as the worker applies them', () => {
  it('accept every event type the generator produces', () => {
    expect(new Set(samples.map((event) => event.event_type))).toEqual(new Set(['order_created', 'order_item_added', 'payment_captured', 'feedback_submitted']));
    for (const event of samples) expect(verdictOf(event)).toBe('valid');
  });

  it('keep an unknown event type in the raw trail, saying no processor applies it', () => {
    const unknown = { ...sample('order_created'), event_type: 'table_reserved', payload: { table: 7 } };
    expect(verdictOf(unknown)).toBe('no processor for event type "table_reserved" (kept in raw_data.events_raw)');
  });

  it.each([
    [{ offset: 0 }, 'invalid envelope: offset: Too small: expected number to be >=1 (got 0)'],
    [{ event_id: 'not-a-uuid' }, 'invalid envelope: event_id: Invalid UUID (got "not-a-uuid")'],
    [{ ts: '2026-11-24T17:06:17.151013' }, 'invalid envelope: ts: must be an ISO-8601 timestamp with a UTC offset (got "2026-11-24T17:06:17.151013")'],
    [{ payload: [1, 2] }, 'invalid envelope: payload: Invalid input: expected record, received array'],
  ])('reject a bad envelope %j with a one-line reason', (change, reason) => {
    expect(verdictOf({ ...sample('order_created'), ...change })).toBe(reason);
  });

  it.each([
    ['order_item_added', { qty: -1 }, 'invalid order_item_added payload: qty: Too small: expected number to be >0 (got -1)'],
    ['order_item_added', { unit_price: 12.345 }, 'invalid order_item_added payload: unit_price: must have at most 2 decimal places (got 12.345)'],
    ['order_created', { service_type: 'drive_thru' }, 'invalid order_created payload: service_type: Invalid option: expected one of "dine_in"|"takeout"|"delivery" (got "drive_thru")'],
    ['order_created', { location_code: 'TORONTO' }, 'invalid order_created payload: location_code: must look like LOC-ON-007 (got "TORONTO")'],
    ['payment_captured', { auth_code: 'abc123' }, 'invalid payment_captured payload: auth_code: must be 6 upper-case hex characters (got "abc123")'],
    ['payment_captured', { provider: 'Bitcoin' }, 'invalid payment_captured payload: provider: Invalid option: expected one of "VISA"|"Mastercard"|"Amex"|"Interac"|"Apple Pay"|"Google Pay"|"Gift Card" (got "Bitcoin")'],
    ['feedback_submitted', { rating: 6 }, 'invalid feedback_submitted payload: rating: Too big: expected number to be <=5 (got 6)'],
    ['feedback_submitted', { nps: 10.5 }, 'invalid feedback_submitted payload: nps: Invalid input: expected int, received number'],
  ] as Array<[KnownEventType, Record<string, unknown>, string]>)('reject a %s payload with %j, saying which field and what it held', (type, change, reason) => {
    expect(verdictOf(withPayload(type, change))).toBe(reason);
  });

  it('name a missing field', () => {
    const { order_id: _missing, ...payload } = sample('payment_captured').payload;
    expect(verdictOf({ ...sample('payment_captured'), payload })).toBe('invalid payment_captured payload: order_id: Invalid input: expected string, received undefined');
  });

  it('do not make NPS consistent with the rating a schema rule', () => {
    expect(verdictOf(withPayload('feedback_submitted', { rating: 1, nps: 10 }))).toBe('valid');
  });

  it('report raw text that is not JSON, and a non-object element', () => {
    expect(verdictOf('{"offset":12,"event_')).toMatch(/^malformed JSON: /);
    expect(verdictOf(JSON.stringify(samples[0]))).toBe('valid');
    expect(verdictOf(42)).toBe('invalid envelope: event: Invalid input: expected object, received number');
  });
});
