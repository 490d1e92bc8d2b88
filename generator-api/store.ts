import type { WireEvent } from './sequence.js';

/**
 * The last `capacity` events of this run in a ring, for `/events` and for SSE replay. Offsets in it
 * are consecutive, so an offset's slot is found by arithmetic.
 */
export class RetentionStore {
  private readonly ring: Array<WireEvent | undefined>;
  private count = 0;
  private last: number;

  /** `headBefore`: the offset this run continues after (0 for a fresh source). */
  constructor(
    readonly capacity: number,
    headBefore: number,
  ) {
    this.ring = new Array<WireEvent | undefined>(capacity);
    this.last = headBefore;
  }

  /** The offset of the newest event produced (by this run or, before any, the one it continues). */
  get head(): number {
    return this.last;
  }

  /** The oldest offset still held; `head + 1` while nothing is. */
  get earliest(): number {
    return this.last - this.count + 1;
  }

  get size(): number {
    return this.count;
  }

  append(event: WireEvent): void {
    if (event.offset !== this.last + 1) throw new Error(`offset ${event.offset} does not follow ${this.last}`);
    this.ring[event.offset % this.capacity] = event;
    this.last = event.offset;
    if (this.count < this.capacity) this.count += 1;
  }

  /** Up to `limit` events with offsets after `since`, oldest first (from the earliest held if `since` is older). */
  after(since: number, limit: number): WireEvent[] {
    const from = Math.max(since + 1, this.earliest);
    const to = Math.min(this.last, from + limit - 1);
    const events: WireEvent[] = [];
    for (let offset = from; offset <= to; offset++) events.push(this.ring[offset % this.capacity] as WireEvent);
    return events;
  }
}
