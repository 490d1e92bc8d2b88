import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Faults } from './faults.js';
import { SourceLedger } from './ledger.js';
import { SILENT, type EventApiLog } from './log.js';
import { clockOf, eventApiOptionsSchema, faultsOf, faultsSchema, feedName, feedsRetention, feedsSchema, rateSchema, type EventApiOptions, type Rate, type ResolvedEventApiOptions } from './options.js';
import { Producer } from './producer.js';
import type { Clock } from './clock.js';
import { EventSequence, FRESH_START, type WireEvent } from './sequence.js';
import { renderPrometheus, type MetricSample } from './metrics.js';
import { createEventApiServer, rootRouter, type EventApiRoutes, type Router } from './server.js';
import { eventsPerChunk, StreamHub, type StreamStats } from './sse.js';
import { RetentionStore } from './store.js';

export type { Clock } from './clock.js';
export { generateEvents, type SequencePosition, type WireEvent } from './sequence.js';
export { DEFAULT_RATE, DEFAULT_SIMULATED_START, eventApiOptionsSchema, feedName, feedsSchema, MAX_FEEDS, type EventApiOptions, type Rate, type ResolvedEventApiOptions } from './options.js';
export { NO_FAULTS, type Faults } from './faults.js';
export type { EventApiLog } from './log.js';
export type { StreamStats } from './sse.js';

/** One feed of an event API, with the controls tests and benchmarks drive it by. */
export interface EventFeed {
  /** The feed's base URL, without a trailing slash: `http://host:port`, or `…/feeds/feed-007` on a many-feed API. */
  readonly url: string;
  /** The seed in use: the given one, or the random one chosen at start (use it to reproduce the run). */
  readonly seed: string;
  readonly clock: Clock;
  readonly legacy: boolean;
  /** The newest offset produced (before any, the offset this run continues after). */
  readonly head: number;
  /** The oldest offset still retained; `head + 1` while none is. */
  readonly earliestRetained: number;
  readonly paused: boolean;
  /** `maxEvents` is reached: nothing more will be produced. */
  readonly finished: boolean;
  readonly rate: Rate;
  readonly faults: Faults;
  readonly connectedClients: number;
  readonly stats: StreamStats & { readonly eventsPerSecond: number };
  /** Ground truth: the retained events after `since`, exactly as served. */
  retained(since?: number, limit?: number): WireEvent[];
  /** Resolves once the head has reached `offset`. */
  waitForHead(offset: number, timeoutMs?: number): Promise<void>;
  pause(): void;
  resume(): void;
  setRate(rate: Rate): void;
  /** Changes some fault flags; events of orders already under way keep their arrangement. */
  setFaults(faults: Partial<Faults>): void;
}

/** A running event API serving one feed at its root. */
export interface EventApi extends EventFeed {
  readonly port: number;
  /** Stops producing, saves the head (when there is a data folder), ends every stream and closes the server. */
  close(): Promise<void>;
}

/** A running event API serving `feeds` independent feeds at `/feeds/feed-001` …, one process and port. */
export interface EventFeeds {
  /** `http://host:port`, without a trailing slash; each feed's own base URL is on the feed. */
  readonly url: string;
  readonly port: number;
  readonly feeds: readonly EventFeed[];
  /** Stops every feed (saving each head when there is a data folder), ends every stream and closes the server. */
  close(): Promise<void>;
}

/** A feed's state and the routes that serve it, before any server listens. */
interface OpenFeed {
  readonly routes: EventApiRoutes;
  readonly samples: () => MetricSample[];
  readonly controls: (url: string) => EventFeed;
  start(): void;
  /** Stops producing, saves the head and ends the feed's streams. */
  stop(): void;
}

function openFeed(options: ResolvedEventApiOptions, seed: string, log: EventApiLog): OpenFeed {
  // The old source kept nothing: legacy mode starts at offset 1 every time.
  const { ledger, resumption } =
    options.dataDir && !options.legacy
      ? SourceLedger.open(options.dataDir, seed, options.seed !== undefined)
      : { ledger: undefined, resumption: FRESH_START };
  const sequence = EventSequence.open(options, seed, resumption);
  const store = new RetentionStore(options.retention, resumption.after);
  let faults = faultsOf(options);
  const producer = new Producer({
    sequence,
    store,
    ledger,
    rate: options.rate,
    paused: options.paused,
    maxEvents: options.maxEvents,
    maxRateBatch: eventsPerChunk(options.maxClientBufferBytes),
    publish: (batch) => hub.publish(batch),
    clientsReady: () => hub.clientsReady(),
  });
  const hub = new StreamHub({
    store,
    legacy: options.legacy,
    keepAliveMs: options.keepAliveMs,
    maxClientBufferBytes: options.maxClientBufferBytes,
    faults: () => faults,
    onCapacity: () => producer.kick(),
    log,
  });

  const health = () =>
    options.legacy
      ? { status: 'ok', stored: store.size }
      : {
          status: 'ok',
          stored: store.size,
          head_offset: store.head,
          earliest_offset: store.earliest,
          events_per_second: producer.meter.perSecond(),
          target_rate: producer.rate,
          connected_clients: hub.clientCount,
          paused: producer.paused,
          finished: producer.finished,
          seed,
          clock: clockOf(options),
          faults: {
            drop_every: faults.dropEvery,
            malformed_rate: faults.malformedRate,
            invalid_rate: faults.invalidRate,
            duplicate_rate: faults.duplicateRate,
            children_first_rate: faults.childrenFirstRate,
          },
        };
  const firstOffset = store.head;
  const samples = (): MetricSample[] => [
    { name: 'restaurant_api_head_offset', type: 'gauge', help: 'Newest offset produced', value: store.head },
    { name: 'restaurant_api_earliest_retained_offset', type: 'gauge', help: 'Oldest offset still retained for replay', value: store.earliest },
    { name: 'restaurant_api_retained_events', type: 'gauge', help: 'Events held for replay', value: store.size },
    { name: 'restaurant_api_events_produced_total', type: 'counter', help: 'Events produced by this run of the source', value: store.head - firstOffset },
    { name: 'restaurant_api_events_per_second', type: 'gauge', help: 'Recent production rate', value: producer.meter.perSecond() },
    { name: 'restaurant_api_connected_clients', type: 'gauge', help: 'Open /stream connections', value: hub.clientCount },
    { name: 'restaurant_api_slow_clients_disconnected_total', type: 'counter', help: 'Clients ended because their unsent data passed the bound', value: hub.stats.slowClientsDisconnected },
    { name: 'restaurant_api_connections_dropped_total', type: 'counter', help: 'Connections ended by the drop-every fault', value: hub.stats.connectionsDropped },
    { name: 'restaurant_api_paused', type: 'gauge', help: '1 while production is paused', value: producer.paused ? 1 : 0 },
  ];
  const routes: EventApiRoutes = {
    health,
    metrics: () => renderPrometheus([...samples(), residentMemory()]),
    feed: { store, hub, legacy: options.legacy, token: options.token },
  };
  return {
    routes,
    samples,
    start: () => producer.start(),
    stop() {
      producer.stop();
      ledger?.close(store.head, sequence.position);
      hub.close();
    },
    controls: (url) => ({
      url,
      seed,
      clock: clockOf(options),
      legacy: options.legacy,
      get head() {
        return store.head;
      },
      get earliestRetained() {
        return store.earliest;
      },
      get paused() {
        return producer.paused;
      },
      get finished() {
        return producer.finished;
      },
      get rate() {
        return producer.rate;
      },
      get faults() {
        return faults;
      },
      get connectedClients() {
        return hub.clientCount;
      },
      get stats() {
        return { ...hub.stats, eventsPerSecond: producer.meter.perSecond() };
      },
      retained: (since = 0, limit = Number.POSITIVE_INFINITY) => store.after(since, limit),
      waitForHead(offset, timeoutMs = 30_000) {
        if (store.head >= offset) return Promise.resolve();
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            stopListening();
            reject(new Error(`the head is at ${store.head}, not yet ${offset}, after ${timeoutMs} ms`));
          }, timeoutMs);
          const stopListening = producer.onHead((head) => {
            if (head < offset) return;
            clearTimeout(timer);
            stopListening();
            resolve();
          });
        });
      },
      pause: () => producer.pause(),
      resume: () => producer.resume(),
      setRate: (rate) => producer.setRate(rateSchema.parse(rate)),
      setFaults(changes) {
        faults = faultsOf(faultsSchema.parse({ ...faults, ...changes }));
        sequence.update({ faults });
      },
    }),
  };
}

const residentMemory = (): MetricSample => ({
  name: 'process_resident_memory_bytes',
  type: 'gauge',
  help: 'Resident set size of the event API process',
  value: process.memoryUsage.rss(),
});

/** Listens with `router`; the origin (`http://host:port`) and a closer that also stops the feeds. */
async function listen(options: ResolvedEventApiOptions, router: Router, feeds: readonly OpenFeed[], log: EventApiLog) {
  const server = createEventApiServer(router, log);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    for (const feed of feeds) feed.routes.feed?.hub.close();
    throw new Error(`the event API cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`, { cause: error });
  }
  const { port } = server.address() as AddressInfo;
  for (const feed of feeds) feed.start();
  let closing: Promise<void> | undefined;
  return {
    origin: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
    close() {
      closing ??= (async () => {
        for (const feed of feeds) feed.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

/** Starts the restaurant event API (SSE + REST) described in EVENTS.md; options are validated and defaulted. */
export async function startEventApi(input: EventApiOptions = {}, log: EventApiLog = SILENT): Promise<EventApi> {
  const options = eventApiOptionsSchema.parse(input);
  const seed = options.seed ?? randomBytes(8).toString('hex');
  const feed = openFeed(options, seed, log);
  const server = await listen(options, rootRouter(feed.routes), [feed], log);
  const controls = feed.controls(server.origin);
  log.info('restaurant event API listening', { url: server.origin, seed, head_offset: controls.head, legacy: options.legacy });
  return Object.assign(controls, {
    port: server.port,
    async close() {
      await server.close();
      log.info('restaurant event API stopped', { head_offset: controls.head });
    },
  });
}

/**
 * Starts `count` independent feeds in one process, `feed-001` … at `/feeds/feed-001` …, each speaking the
 * whole contract. Feed *n* draws from the seed `<seed>/feed-<n>` (so the feeds differ and each replays
 * alone) and keeps its head under `<dataDir>/feeds/feed-<n>`; every other option applies to each feed.
 * Without an explicit `retention`, each feed keeps its share of 200,000 events (at least 1,000).
 */
export async function startEventFeeds(count: number, input: EventApiOptions = {}, log: EventApiLog = SILENT): Promise<EventFeeds> {
  const feedCount = feedsSchema.parse(count);
  const options = eventApiOptionsSchema.parse({ retention: feedsRetention(feedCount), ...input });
  const seed = options.seed ?? randomBytes(8).toString('hex');
  const names = Array.from({ length: feedCount }, (_, index) => feedName(index + 1));
  const feeds = names.map((name) =>
    openFeed(
      { ...options, seed: options.seed === undefined ? undefined : `${seed}/${name}`, dataDir: options.dataDir && path.join(options.dataDir, 'feeds', name) },
      `${seed}/${name}`,
      log,
    ),
  );
  const byName = new Map(names.map((name, index) => [name, feeds[index]!]));
  const root: EventApiRoutes = {
    health: () => ({
      status: 'ok',
      feeds: feedCount,
      feed_urls: `/feeds/${names[0]} … /feeds/${names.at(-1)}`,
      connected_clients: feeds.reduce((sum, feed) => sum + (feed.routes.feed?.hub.clientCount ?? 0), 0),
      seed,
    }),
    metrics: () => renderPrometheus([...names.flatMap((name, index) => feeds[index]!.samples().map((sample) => ({ ...sample, labels: { feed: name } }))), residentMemory()]),
  };
  const router: Router = (pathname) => {
    if (pathname === '/health' || pathname === '/metrics') return { routes: root, endpoint: pathname };
    const match = /^\/feeds\/([^/]+)(\/[^/]*)?$/.exec(pathname);
    if (!match) return { missing: `no such endpoint: ${pathname}; the feeds are at /feeds/${names[0]} … /feeds/${names.at(-1)}` };
    const feed = byName.get(match[1]!);
    if (!feed) return { missing: `no such feed: ${match[1]}; this API serves ${names[0]} … ${names.at(-1)}` };
    return { routes: feed.routes, endpoint: match[2] ?? '/' };
  };
  const server = await listen(options, router, feeds, log);
  log.info('restaurant event API listening', { url: server.origin, feeds: feedCount, first_feed: `${server.origin}/feeds/${names[0]}`, seed });
  return {
    url: server.origin,
    port: server.port,
    feeds: names.map((name, index) => feeds[index]!.controls(`${server.origin}/feeds/${name}`)),
    async close() {
      await server.close();
      log.info('restaurant event API stopped', { feeds: feedCount });
    },
  };
}
