import { describe, expect, it } from 'vitest';
import { MessageQueue } from '../../activities/restaurant-api/message-queue.js';
import { SseMessageReader } from '../../activities/restaurant-api/sse-messages.js';

const STREAM = [
  '\ufeffid: 1\ndata: {"comment":"très bon"}\n\n',
  ': keep-alive\n\n',
  'id: 2\nevent: other\ndata: first\ndata: second\n\n',
  'id\ndata\n\n',
  'data:no space\n\n',
  'id: 3\r\ndata: crlf\r\n\r\n',
  'id: 4\rdata: cr\r\r',
  'id: 5\0\nretry: 10\nunknown: field\ndata: nul id\n\n',
  'id: 6\ndata: never ended',
].join('');

const EXPECTED = [
  ['1', 'message', '{"comment":"très bon"}'],
  ['2', 'other', 'first\nsecond'],
  ['', 'message', ''],
  ['', 'message', 'no space'],
  ['3', 'message', 'crlf'],
  ['4', 'message', 'cr'],
  ['', 'message', 'nul id'],
];

function read(chunks: Uint8Array[]): string[][] {
  const events: string[][] = [];
  const reader = new SseMessageReader((event) => events.push([event.id, event.type, event.data.toString('utf8')]));
  for (const chunk of chunks) reader.push(chunk);
  return events;
}

describe('the SSE message reader', () => {
  it('reads events, whatever the line endings, however the bytes are cut', () => {
    const bytes = Buffer.from(STREAM);
    expect(read([bytes])).toEqual(EXPECTED);
    // Every cut into single bytes, and into pieces of each size up to 17, splits lines, CRLFs, the BOM and UTF-8 sequences.
    for (let size = 1; size <= 17; size += 1) {
      const chunks: Uint8Array[] = [];
      for (let start = 0; start < bytes.byteLength; start += size) chunks.push(new Uint8Array(bytes.subarray(start, start + size)));
      expect(read(chunks), `pieces of ${size} bytes`).toEqual(EXPECTED);
    }
  });
});

describe('the feed’s message queue', () => {
  it('hands messages out in order as strings, keeps the rest, and grows past its first buffer', () => {
    const queue = new MessageQueue();
    const big = 'x'.repeat(300_000);
    queue.push(1, Buffer.from('{"a":"é"}'));
    queue.push(null, Buffer.from('not json'));
    queue.push(3, Buffer.alloc(0), { bytes: 9_000_000, head: '{"offset":3' });
    for (let offset = 4; offset < 2_004; offset += 1) queue.push(offset, Buffer.from(`${offset}:${offset % 500 === 0 ? big : 'x'}`));
    expect(queue.length).toBe(2_003);

    const first = queue.take(3);
    expect(first).toEqual([
      { offset: 1, data: '{"a":"é"}' },
      { offset: null, data: 'not json' },
      { offset: 3, data: '', oversized: { bytes: 9_000_000, head: '{"offset":3' } },
    ]);
    const rest = queue.take(5_000);
    expect(rest.map((message) => message.offset)).toEqual(Array.from({ length: 2_000 }, (_, index) => index + 4));
    expect(rest.every((message) => message.data.startsWith(`${message.offset}:x`) && message.oversized === undefined)).toBe(true);
    expect(rest.find((message) => message.offset === 1_000)?.data.length).toBe(300_005);
    expect(queue.length).toBe(0);

    queue.push(9, Buffer.from('after'));
    queue.clear();
    expect(queue.take(10)).toEqual([]);
  });

  it('gives back what a burst made it reserve once it is empty, and keeps what a busy feed needs at every batch', () => {
    const queue = new MessageQueue();
    const event = Buffer.alloc(500, 'e');
    const idle = queue.reservedBytes;
    for (let offset = 1; offset <= 2_000; offset += 1) queue.push(offset, event);
    expect(queue.reservedBytes).toBeGreaterThanOrEqual(1_000_000);
    // A busy feed: a batch's worth arrives and is taken, again and again: the room stays.
    queue.take(1_000);
    queue.take(1_000);
    const busy = queue.reservedBytes;
    for (let batch = 0; batch < 3; batch += 1) {
      for (let offset = 1; offset <= 1_000; offset += 1) queue.push(offset, event);
      expect(queue.take(1_000)).toHaveLength(1_000);
      expect(queue.reservedBytes).toBe(busy);
    }
    // Caught up: a few events at a time.
    queue.push(1, event);
    queue.take(10);
    expect(queue.reservedBytes).toBe(idle);
    for (let offset = 1; offset <= 3; offset += 1) queue.push(offset, event);
    expect(queue.take(10).map((message) => message.offset)).toEqual([1, 2, 3]);
  });
});
