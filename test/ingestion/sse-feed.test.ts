import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SseFeed } from '../../activities/restaurant-api/sse-feed.js';
import { waitUntil } from '../../stack/wait.js';

/** ~20 MB: more than the socket buffers between the two hold. */
const EVENTS = 50_000;
const MAX_QUEUED = 500;

/** A source that writes every event at once, as fast as its socket takes them, and keeps the response open. */
async function eagerSource(): Promise<{ url: string; server: Server; written: () => number }> {
  let written = 0;
  const server = createServer((_request, response: ServerResponse) => {
    response.writeHead(200, { 'Content-Type': 'text/event-stream' });
    const writeMore = () => {
      while (written < EVENTS) {
        written += 1;
        const more = response.write(`id: ${written}\ndata: {"offset":${written},"pad":"${'x'.repeat(400)}"}\n\n`);
        if (!more) return void response.once('drain', writeMore);
      }
    };
    writeMore();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/stream`, server, written: () => written };
}

describe('the SSE feed', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  it('stops reading at its bound of unread messages, so the source is pushed back, and resumes on the same connection', async () => {
    const source = await eagerSource();
    cleanup.push(() => source.server.close());
    cleanup.push(() => source.server.closeAllConnections());
    const feed = new SseFeed(source.url, { fromOffset: 0, maxEventBytes: 64 * 1024, maxQueued: MAX_QUEUED });
    cleanup.push(() => feed.close());

    // Nobody takes: the feed fills to its bound, then the source's writes back up.
    await waitUntil('the feed holds its bound', 10_000, async () => feed.queued >= MAX_QUEUED, 10);
    // At most the chunk in hand when the bound was reached comes on top (a read is at most 64 KiB: ~150 events).
    expect(feed.queued).toBeLessThan(MAX_QUEUED + 200);
    expect(source.written()).toBeLessThan(EVENTS);

    const offsets: Array<number | null> = [];
    const signal = new AbortController().signal;
    while (offsets.length < EVENTS) {
      const taken = await feed.take(MAX_QUEUED, 1_000, signal, 5_000);
      expect(taken.length).toBeGreaterThan(0);
      offsets.push(...taken.map((message) => message.offset));
      expect(feed.queued).toBeLessThan(MAX_QUEUED + 200);
    }
    expect(offsets).toEqual(Array.from({ length: EVENTS }, (_, index) => index + 1));
    expect(feed.stats).toMatchObject({ connections: 1, reconnects: 0, messages: EVENTS });
  });
});
