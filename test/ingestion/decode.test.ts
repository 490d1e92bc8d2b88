import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeText, decodeValue } from '../../activities/ingestion/decode.js';
import { loadProcessors } from '../../processors/registry.js';

const processors = await loadProcessors();

function orderCreated(overrides: Record<string, unknown> = {}, payload: Record<string, unknown> = {}) {
  return {
    offset: 7,
    event_id: randomUUID(),
    event_type: 'order_created',
    ts: '2026-11-24T17:06:17.151013+00:00',
    partition_key: 'LOC-ON-007',
    payload: {
      order_id: randomUUID(),
      visit_id: randomUUID(),
      service_type: 'dine_in',
      order_ts: '2026-11-24T17:06:17.151013+00:00',
      location_code: 'LOC-ON-007',
      ...payload,
    },
    ...overrides,
  };
}

describe('decoding source messages', () => {
  it('accepts a valid event for the facts', () => {
    const envelope = orderCreated();
    const decoded = decodeText(JSON.stringify(envelope), 7, 1, processors);
    expect(decoded).toMatchObject({ kind: 'event', offset: 7, eventId: envelope.event_id, problem: null });
    if (decoded.kind === 'event') expect(decoded.event).toMatchObject({ epoch: 1, eventType: 'order_created', partitionKey: 'LOC-ON-007' });
  });

  it('rejects malformed JSON with the raw text and the SSE offset', () => {
    const decoded = decodeText('{"offset": 8, "event_id": ', 8, 1, processors);
    expect(decoded).toMatchObject({ kind: 'unreadable', offset: 8, eventId: null, raw: '{"offset": 8, "event_id": ' });
    if (decoded.kind === 'unreadable') expect(decoded.reason).toMatch(/^malformed JSON/);
  });

  it('rejects an invalid envelope but keeps its offset and id when they are readable', () => {
    const envelope = orderCreated({ ts: 'yesterday' });
    const decoded = decodeValue(envelope, null, 1, processors);
    expect(decoded).toMatchObject({ kind: 'unreadable', offset: 7, eventId: envelope.event_id });
    if (decoded.kind === 'unreadable') expect(decoded.reason).toContain('ts');
  });

  it('keeps a schema-violating event for the audit trail with the reason it is not applied', () => {
    const decoded = decodeValue(orderCreated({}, { service_type: 'drive_thru' }), 7, 1, processors);
    expect(decoded.kind).toBe('event');
    if (decoded.kind === 'event') expect(decoded.problem).toMatch(/invalid order_created payload: service_type/);
  });

  it('keeps an unknown event type, with no processor to apply it', () => {
    const decoded = decodeValue(orderCreated({ event_type: 'table_reserved' }), 7, 1, processors);
    expect(decoded.kind).toBe('event');
    if (decoded.kind === 'event') expect(decoded.problem).toMatch(/no processor for event type "table_reserved"/);
  });

  it('treats a page element served as a string as raw malformed text', () => {
    const decoded = decodeValue('{not json', 12, 2, processors);
    expect(decoded).toMatchObject({ kind: 'unreadable', offset: 12, raw: '{not json' });
  });
});
