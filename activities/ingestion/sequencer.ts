import type { StreamPosition } from '../../contracts/ingestion.js';

/** Where an incoming offset stands relative to the committed-or-accepted position. */
export type Placement =
  | { kind: 'next' }
  | { kind: 'gap'; from: number; to: number }
  /** At or before the position: a duplicate (same event seen here) or a restarted source. */
  | { kind: 'behind'; seenHere: boolean };

const NEXT: Placement = { kind: 'next' };

/**
 * Tracks the stream position while a session reads, and remembers recent offset → event_id pairs so
 * a redelivered event can be told from a new event at a reused offset (a source that restarted).
 */
export class StreamSequencer {
  private current: StreamPosition;
  private readonly recent = new Map<number, string | null>();

  constructor(
    start: StreamPosition,
    private readonly recentCapacity = 20_000,
  ) {
    this.current = { ...start };
    if (start.lastEventId) this.recent.set(start.offset, start.lastEventId);
  }

  get position(): StreamPosition {
    return { ...this.current };
  }

  get epoch(): number {
    return this.current.epoch;
  }

  place(offset: number, eventId: string | null): Placement {
    const expected = this.current.offset + 1;
    if (offset === expected) return NEXT;
    if (offset > expected) return { kind: 'gap', from: expected, to: offset - 1 };
    const seen = this.recent.get(offset);
    return { kind: 'behind', seenHere: this.recent.has(offset) && (eventId === null || seen === eventId) };
  }

  /** Takes the event at `offset` (which must be `position.offset + 1`, or later after a recorded loss). */
  accept(offset: number, eventId: string | null): void {
    this.current.offset = offset;
    this.current.lastEventId = eventId;
    this.recent.set(offset, eventId);
    if (this.recent.size > this.recentCapacity) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }

  /** The source restarted: its offsets begin again at 1 in a new epoch. */
  startNewEpoch(): StreamPosition {
    this.current = { offset: 0, epoch: this.current.epoch + 1, lastEventId: null };
    this.recent.clear();
    return this.position;
  }
}
