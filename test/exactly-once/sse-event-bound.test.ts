import { describe, expect, it } from 'vitest';
import { boundSseEvents, OVERSIZED_EVENT_TYPE } from '../../activities/restaurant-api/sse-event-bound.js';

async function through(maxEventBytes: number, chunks: string[]): Promise<string> {
  const encoder = new TextEncoder();
  const bound = boundSseEvents(maxEventBytes);
  const out = chunks.map((chunk) => bound(encoder.encode(chunk))).filter((events) => events !== undefined);
  return Buffer.concat(out).toString('utf8');
}

describe('the SSE event bound', () => {
  it('passes events within the bound unchanged, however the bytes are split', async () => {
    const text = 'id: 1\nevent: a\ndata: {"x":1}\n\n: keep-alive\n\nid: 2\r\ndata: {"x":2}\r\n\r\n';
    expect(await through(64, [text])).toBe(text);
    expect(await through(64, [...text])).toBe(text);
  });

  it('replaces an oversized event by a small one with its offset, size and first bytes, and keeps the next', async () => {
    const giant = `id: 7\nevent: order_created\ndata: ${'x'.repeat(5_000)}\n\n`;
    const next = 'id: 8\ndata: {"x":8}\n\n';
    const out = await through(1_024, ['id: 6\ndata: {}\n\n', giant.slice(0, 100), giant.slice(100, 3_000), giant.slice(3_000), next]);
    const blocks = out.split('\n\n').filter(Boolean);
    expect(blocks[0]).toBe('id: 6\ndata: {}');
    expect(blocks[1]).toMatch(new RegExp(`^id: 7\\nevent: ${OVERSIZED_EVENT_TYPE}\\ndata: `));
    const data = JSON.parse(blocks[1]!.slice(blocks[1]!.indexOf('\ndata: ') + '\ndata: '.length)) as { offset: number; bytes: number; head: string };
    expect(data).toMatchObject({ offset: 7, bytes: giant.length });
    expect(data.head.length).toBe(1_024);
    expect(data.head.startsWith('id: 7\nevent: order_created\ndata: xxx')).toBe(true);
    expect(blocks[2]).toBe('id: 8\ndata: {"x":8}');
  });
});
