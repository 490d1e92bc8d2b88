import { formatTimestamp, wallClockMicros, type Clock, type Micros } from './clock.js';
import { arrangeOrder, breakJson, type Emission, type Faults } from './faults.js';
import { clockOf, eventApiOptionsSchema, faultsOf, simulatedStartOf, timelineRate, type EventApiOptions, type ResolvedEventApiOptions } from './options.js';
import { createWorld, MEAN_EVENTS_PER_ORDER, simulateOrder, type World } from './simulation.js';

/** Where a sequence stands: `emitted` emissions of order number `order`, which arrived at `orderAt`, are done. */
export interface SequencePosition {
  readonly order: number;
  readonly emitted: number;
  readonly orderAt: Micros;
}

/** Where a starting source picks up. */
export interface Resumption {
  /** The offset this run continues after (0: a fresh source). */
  readonly after: number;
  /** Set when this run continues the same seed's sequence: where it stood at the last write … */
  readonly position?: SequencePosition;
  /** … and how many of its events to pass over to reach offset `after + 1`. */
  readonly skip: number;
}

export const FRESH_START: Resumption = { after: 0, skip: 0 };

/**
 * One event with its offset, exactly as served: `text` is the `data:` of its SSE frame and its element
 * in `/events`. A malformed event's text is deliberately not JSON.
 */
export interface WireEvent {
  readonly offset: number;
  readonly eventType: string;
  readonly text: string;
  readonly malformed: boolean;
  readonly duplicate: boolean;
}

export interface SequenceSettings {
  readonly clock: Clock;
  /** The intensity of the simulated arrivals (their daily mean), in events per second. */
  readonly eventsPerSecond: number;
  readonly faults: Faults;
}

/**
 * The endless, deterministic list of events of one seed: orders are simulated one at a time, arranged
 * under the faults in force, and given consecutive offsets as they are taken.
 */
export class EventSequence {
  private settings: SequenceSettings;
  private orderIndex: number;
  private orderAt: Micros;
  private nextOrderAt: Micros = 0;
  private emissions: Emission[] = [];
  private emitted = 0;
  private offset: number;

  constructor(
    private readonly world: World,
    settings: SequenceSettings,
    position: SequencePosition,
    firstOffset: number,
  ) {
    this.settings = settings;
    this.orderIndex = position.order;
    this.orderAt = position.orderAt;
    this.offset = firstOffset;
    this.arrange();
    this.emitted = position.emitted;
    this.rollOver();
  }

  /** The sequence a source with these options serves, picked up where `resumption` says. */
  static open(options: ResolvedEventApiOptions, seed: string, resumption: Resumption): EventSequence {
    const settings = { clock: clockOf(options), eventsPerSecond: timelineRate(options.rate), faults: faultsOf(options) };
    const position = resumption.position ?? { order: 0, emitted: 0, orderAt: simulatedStartOf(options) };
    const sequence = new EventSequence(createWorld(seed), settings, position, resumption.after + 1 - resumption.skip);
    sequence.skip(resumption.skip);
    return sequence;
  }

  /** The offset the next event will get. */
  get nextOffset(): number {
    return this.offset;
  }

  /** The simulated time of the next event: the producer paces on it. */
  get nextAt(): Micros {
    return (this.emissions[this.emitted] as Emission).at;
  }

  get position(): SequencePosition {
    return { order: this.orderIndex, emitted: this.emitted, orderAt: this.orderAt };
  }

  update(settings: Partial<SequenceSettings>): void {
    this.settings = { ...this.settings, ...settings };
  }

  next(): WireEvent {
    const emission = this.emissions[this.emitted] as Emission;
    const event = this.serialise(emission, this.offset);
    this.offset += 1;
    this.emitted += 1;
    this.rollOver();
    return event;
  }

  /** Moves on by `count` events without serialising them (a restart resuming past its last checkpoint). */
  skip(count: number): void {
    for (let i = 0; i < count; i++) {
      this.offset += 1;
      this.emitted += 1;
      this.rollOver();
    }
  }

  private arrange(): void {
    const ordersPerSecond = this.settings.eventsPerSecond / MEAN_EVENTS_PER_ORDER;
    const order = simulateOrder(this.world, this.orderIndex, this.orderAt, ordersPerSecond);
    this.nextOrderAt = order.nextOrderAt;
    this.emissions = arrangeOrder(order, this.settings.faults, this.world.key);
    this.emitted = 0;
  }

  private rollOver(): void {
    while (this.emitted >= this.emissions.length) {
      this.orderIndex += 1;
      this.orderAt = this.nextOrderAt;
      this.arrange();
    }
  }

  private serialise(emission: Emission, offset: number): WireEvent {
    const wall = this.settings.clock === 'wall';
    const ts = formatTimestamp(wall ? wallClockMicros() : emission.at);
    let payload = emission.payload;
    // On the wall clock the timestamps inside the payload are the moment of emission too.
    if (wall && 'order_ts' in payload) payload = { ...payload, order_ts: ts };
    if (wall && 'created_ts' in payload) payload = { ...payload, created_ts: ts };
    const text = JSON.stringify({
      offset,
      event_id: emission.eventId,
      event_type: emission.eventType,
      ts,
      partition_key: emission.partitionKey,
      payload,
    });
    return {
      offset,
      eventType: emission.eventType,
      text: emission.breakage ? breakJson(text, emission.breakage) : text,
      malformed: emission.breakage !== null,
      duplicate: emission.duplicate,
    };
  }
}

/**
 * Ground truth without a server: the `count` events after offset `after` that a fresh source started
 * with these options (a seed required) serves, byte for byte on the simulated clock.
 */
export function generateEvents(options: EventApiOptions & { seed: string }, count: number, after = 0): WireEvent[] {
  const resolved = eventApiOptionsSchema.parse(options);
  const sequence = EventSequence.open(resolved, resolved.seed ?? options.seed, FRESH_START);
  sequence.skip(after);
  return Array.from({ length: count }, () => sequence.next());
}
