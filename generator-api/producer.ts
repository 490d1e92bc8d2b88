import type { SourceLedger } from './ledger.js';
import { timelineRate, type Rate } from './options.js';
import { RateMeter } from './rate-meter.js';
import type { EventSequence, WireEvent } from './sequence.js';
import type { RetentionStore } from './store.js';

/** A paced tick produces at most this many events, so a burst of catching up never blocks the event loop for long. */
const PACED_BATCH_LIMIT = 5_000;
/** At `'max'`, how often to look again whether a client can take more, in case no drain event says so. */
const MAX_RATE_RECHECK_MS = 5;
/** Ticks closer than this are merged into one batch. */
const MIN_TICK_MS = 2;
/** A paced producer that falls further behind than this (a stalled machine) resumes from now instead of bursting. */
const MAX_LAG_MICROS = 2_000_000;

export interface ProducerOptions {
  readonly sequence: EventSequence;
  readonly store: RetentionStore;
  readonly ledger: SourceLedger | undefined;
  readonly rate: Rate;
  readonly paused: boolean;
  readonly maxEvents: number | undefined;
  /** At `'max'`, events per batch: enough to amortise the writes, small next to a client's buffer bound. */
  readonly maxRateBatch: number;
  readonly publish: (batch: readonly WireEvent[]) => void;
  /** At `'max'`: whether some client can take more now (or none is connected). */
  readonly clientsReady: () => boolean;
}

/**
 * Takes events from the sequence into the store and out to the clients: paced on the simulated clock
 * at a numeric rate, or at `'max'` as fast as the quickest client takes them.
 */
export class Producer {
  readonly meter = new RateMeter();
  private rateSetting: Rate;
  private isPaused: boolean;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private anchorWallMs = 0;
  private anchorSimulated = 0;
  private readonly headListeners = new Set<(head: number) => void>();

  constructor(private readonly options: ProducerOptions) {
    this.rateSetting = options.rate;
    this.isPaused = options.paused;
  }

  get rate(): Rate {
    return this.rateSetting;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  /** Reached `maxEvents`: nothing more will be produced. */
  get finished(): boolean {
    const { maxEvents, store } = this.options;
    return maxEvents !== undefined && store.head >= maxEvents;
  }

  start(): void {
    this.reanchor();
    this.schedule(0);
  }

  pause(): void {
    this.isPaused = true;
    this.cancel();
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.start();
  }

  setRate(rate: Rate): void {
    this.rateSetting = rate;
    this.options.sequence.update({ eventsPerSecond: timelineRate(rate) });
    this.cancel();
    this.start();
  }

  /** Something changed on the client side (a buffer drained, a client came or went): try again at `'max'`. */
  kick(): void {
    if (this.rateSetting !== 'max' || this.immediate) return;
    this.cancel();
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** Calls `listener` with the head after every batch until it is removed with the returned function. */
  onHead(listener: (head: number) => void): () => void {
    this.headListeners.add(listener);
    return () => this.headListeners.delete(listener);
  }

  private reanchor(): void {
    this.anchorWallMs = performance.now();
    this.anchorSimulated = this.options.sequence.nextAt;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.isPaused || this.timer || this.immediate) return;
    if (delayMs <= 0) this.immediate = setImmediate(this.tick);
    else this.timer = setTimeout(this.tick, delayMs);
  }

  private cancel(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.stopped || this.isPaused || this.finished) return;
    if (this.rateSetting === 'max') {
      if (this.options.clientsReady()) {
        this.produce(Number.POSITIVE_INFINITY, this.options.maxRateBatch);
        this.schedule(0);
      } else {
        this.schedule(MAX_RATE_RECHECK_MS);
      }
      return;
    }
    const { sequence } = this.options;
    let simulatedNow = this.anchorSimulated + (performance.now() - this.anchorWallMs) * 1000;
    if (simulatedNow - sequence.nextAt > MAX_LAG_MICROS) {
      this.reanchor();
      simulatedNow = sequence.nextAt;
    }
    const produced = this.produce(simulatedNow, PACED_BATCH_LIMIT);
    this.schedule(produced === PACED_BATCH_LIMIT ? 0 : Math.max(MIN_TICK_MS, (sequence.nextAt - simulatedNow) / 1000));
  };

  /** Everything due by simulated time `until`, up to `limit` events and `maxEvents`, in one batch. */
  private produce(until: number, limit: number): number {
    const { sequence, store, ledger, maxEvents } = this.options;
    const cap = Math.min(limit, (maxEvents ?? Number.POSITIVE_INFINITY) - store.head);
    const batch: WireEvent[] = [];
    while (batch.length < cap && sequence.nextAt <= until) {
      ledger?.beforeProducing(sequence.nextOffset, store.head, sequence.position);
      const event = sequence.next();
      store.append(event);
      batch.push(event);
    }
    if (batch.length === 0) return 0;
    this.meter.add(batch.length);
    this.options.publish(batch);
    for (const listener of this.headListeners) listener(store.head);
    return batch.length;
  }
}
