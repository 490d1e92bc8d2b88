import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';

/*
 * Above what the producer sends at once after a stall of the shared machine (at most 2 s of events,
 * ~1.3 MB at 1,500 events/s), which every client would otherwise meet together; far below the ~6 MB a
 * stalled client is sent in all.
 */
const BOUND = 1536 * 1024;
const EVENTS = 14_000;

/** A fast SSE client for load: it only follows the `id:` lines, checking that they go up by one. */
class IdFollower {
  last = 0;
  gaps = 0;
  closed = false;
  private tail = '';
  private constructor(readonly response: http.IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.follow(chunk));
    response.on('close', () => (this.closed = true));
  }

  static open(url: string): Promise<IdFollower> {
    return new Promise((resolve, reject) => http.get(url, (response) => resolve(new IdFollower(response))).on('error', reject));
  }

  private follow(chunk: string): void {
    const text = this.tail + chunk;
    let at = text.indexOf('\nid: ');
    while (at !== -1) {
      const end = text.indexOf('\n', at + 5);
      if (end === -1) break;
      const id = Number(text.slice(at + 5, end));
      if (id !== this.last + 1) this.gaps += 1;
      this.last = id;
      at = text.indexOf('\nid: ', end);
    }
    this.tail = text.slice(at === -1 ? -5 : at);
  }
}

describe('backpressure', () => {
  let api: EventApi;
  afterAll(() => api?.close());

  it('disconnects a stalled client at its buffer bound while 99 others receive every event, memory staying flat', async () => {
    api = await startEventApi({ port: 0, seed: 'backpressure', rate: 1_500, maxEvents: EVENTS, retention: EVENTS, maxClientBufferBytes: BOUND, paused: true });
    const followers = await Promise.all(Array.from({ length: 99 }, () => IdFollower.open(`${api.url}/stream`)));
    const stalled = await IdFollower.open(`${api.url}/stream`);
    stalled.response.pause();
    while (api.connectedClients < 100) await sleep(10);

    const baseline = process.memoryUsage().heapUsed;
    let peakHeap = baseline;
    api.resume();
    while (followers.some((follower) => follower.last < EVENTS && !follower.closed)) {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
      await sleep(50);
    }

    expect(api.stats.slowClientsDisconnected).toBe(1);
    expect(api.stats.peakClientBufferBytes).toBeLessThanOrEqual(BOUND);
    for (const follower of followers) expect({ last: follower.last, gaps: follower.gaps, closed: follower.closed }).toEqual({ last: EVENTS, gaps: 0, closed: false });
    expect(api.connectedClients).toBe(99);
    // The retained events themselves take a few MB; a server buffering for the stalled client would add it all again.
    expect(peakHeap - baseline).toBeLessThan(96 * 1024 * 1024);
    stalled.response.destroy();
  });
});
