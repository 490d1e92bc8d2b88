import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateEvents } from '../../generator-api/index.js';

const CHUNK = Buffer.alloc(1024 * 1024, 'x');

export interface GiantEventSource {
  readonly url: string;
  /** event_ids of the normal events served (all but the giant one). */
  readonly eventIds: Set<string>;
  close(): Promise<void>;
}

/**
 * A source speaking the wire contract whose stream carries one enormous event (a `data:` line of
 * `giantBytes`) at offset `giantAt` between `count` normal ones, on `/stream` and in `/events` pages.
 * The giant event is streamed in 1 MiB chunks with backpressure, never built in memory.
 */
export async function startGiantEventSource(options: { count: number; giantAt: number; giantBytes: number }): Promise<GiantEventSource> {
  const normal = generateEvents({ seed: 'giant-event' }, options.count);
  const giantPrefix = `{"offset":${options.giantAt},"event_id":"${randomUUID()}","event_type":"order_created","ts":"2026-01-05T11:00:00.000000+00:00","partition_key":"LOC-ON-001","payload":{"pad":"`;
  const giantSuffix = '"}}';
  const giantPadding = options.giantBytes - giantPrefix.length - giantSuffix.length;
  const textAt = (offset: number) => normal[offset - 1]!.text;

  async function write(response: ServerResponse, data: string | Buffer): Promise<void> {
    if (!response.write(data)) await new Promise((resolve) => response.once('drain', resolve));
  }
  async function writeGiant(response: ServerResponse): Promise<void> {
    await write(response, giantPrefix);
    for (let left = giantPadding; left > 0 && !response.destroyed; left -= CHUNK.length) await write(response, left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left));
    await write(response, giantSuffix);
  }

  async function stream(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const after = Number(request.headers['last-event-id'] ?? 0) || 0;
    response.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    for (let offset = after + 1; offset <= options.count && !response.destroyed; offset++) {
      if (offset === options.giantAt) {
        await write(response, `id: ${offset}\nevent: order_created\ndata: `);
        await writeGiant(response);
        await write(response, '\n\n');
      } else {
        await write(response, `id: ${offset}\nevent: x\ndata: ${textAt(offset)}\n\n`);
      }
    }
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 1_000);
    response.once('close', () => clearInterval(keepAlive));
  }

  async function page(url: URL, response: ServerResponse): Promise<void> {
    const since = Number(url.searchParams.get('since') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1_000);
    const last = Math.min(options.count, since + limit);
    response.writeHead(200, { 'Content-Type': 'application/json' });
    await write(response, '{"events":[');
    for (let offset = since + 1; offset <= last && !response.destroyed; offset++) {
      if (offset > since + 1) await write(response, ',');
      if (offset === options.giantAt) await writeGiant(response);
      else await write(response, textAt(offset));
    }
    response.end(`],"next_since":${Math.max(since, last)}}`);
  }

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://source');
    const served =
      url.pathname === '/stream' ? stream(request, response) : url.pathname === '/events' ? page(url, response) : Promise.resolve(void response.end(JSON.stringify({ status: 'ok', head_offset: options.count })));
    served.catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    eventIds: new Set(normal.filter((event) => event.offset !== options.giantAt).map((event) => (JSON.parse(event.text) as { event_id: string }).event_id)),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
