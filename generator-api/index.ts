import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Faults } from './faults.js';
import { SourceLedger } from './ledger.js';
import { SILENT, type EventApiLog } from './log.js';
import { clockOf, eventApiOptionsSchema, faultsOf, faultsSchema, rateSchema, type EventApiOptions, type Rate } from './options.js';
import { Producer } from './producer.js';
import type { Clock } from './clock.js';
import { EventSequence, FRESH_START, type WireEvent } from './sequence.js';
import { renderPrometheus } from './metrics.js';
import { createEventApiServer } from './server.js';
import { eventsPerChunk, StreamHub, type StreamStats } from './sse.js';
import { RetentionStore } from './store.js';

export type { Clock } from './clock.js';
export { generateEvents, type SequencePosition, type WireEvent } from './sequence.js';
export { DEFAULT_RATE, DEFAULT_SIMULATED_START, eventApiOptionsSchema, type EventApiOptions, type Rate, type ResolvedEventApiOptions } from './options.js';
export { NO_FAULTS, type Faults } from './faults.js';
export type { EventApiLog } from './log.js';
export type { StreamStats } from './sse.js';

/** A running event API, with the controls tests and benchmarks drive it by. */
export interface EventApi {
  /** `http://host:port`, without a trailing slash. */
  readonly url: string;
  readonly port: number;
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
  /** Stops producing, saves the head (when there is a data folder), ends every stream and closes the server. */
  close(): Promise<void>;
}

/** Starts the restaurant event API (SSE + REST) described in EVENTS.md; options are validated and defaulted. */
export async function startEventApi(input: EventApiOptions = {}, log: EventApiLog = SILENT): Promise<EventApi> {
  const options = eventApiOptionsSchema.parse(input);
  const seed = options.seed ?? randomBytes(8).toString('hex');
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
  const metrics = () =>
    renderPrometheus([
      { name: 'restaurant_api_head_offset', type: 'gauge', help: 'Newest offset produced', value: store.head },
      { name: 'restaurant_api_earliest_retained_offset', type: 'gauge', help: 'Oldest offset still retained for replay', value: store.earliest },
      { name: 'restaurant_api_retained_events', type: 'gauge', help: 'Events held for replay', value: store.size },
      { name: 'restaurant_api_events_produced_total', type: 'counter', help: 'Events produced by this run of the source', value: store.head - firstOffset },
      { name: 'restaurant_api_events_per_second', type: 'gauge', help: 'Recent production rate', value: producer.meter.perSecond() },
      { name: 'restaurant_api_connected_clients', type: 'gauge', help: 'Open /stream connections', value: hub.clientCount },
      { name: 'restaurant_api_slow_clients_disconnected_total', type: 'counter', help: 'Clients ended because their unsent data passed the bound', value: hub.stats.slowClientsDisconnected },
      { name: 'restaurant_api_connections_dropped_total', type: 'counter', help: 'Connections ended by the drop-every fault', value: hub.stats.connectionsDropped },
      { name: 'restaurant_api_paused', type: 'gauge', help: '1 while production is paused', value: producer.paused ? 1 : 0 },
      { name: 'process_resident_memory_bytes', type: 'gauge', help: 'Resident set size of the event API process', value: process.memoryUsage.rss() },
    ]);
  const server = createEventApiServer({ store, hub, legacy: options.legacy, health, metrics, log, token: options.token });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    hub.close();
    throw new Error(`the event API cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`, { cause: error });
  }
  const { port } = server.address() as AddressInfo;
  producer.start();
  log.info('restaurant event API listening', { url: `http://${options.host}:${port}`, seed, head_offset: store.head, legacy: options.legacy });

  let closing: Promise<void> | undefined;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    port,
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
    close() {
      closing ??= (async () => {
        producer.stop();
        ledger?.close(store.head, sequence.position);
        hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        log.info('restaurant event API stopped', { head_offset: store.head });
      })();
      return closing;
    },
  };
}
