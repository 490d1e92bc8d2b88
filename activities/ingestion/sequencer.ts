import type { StreamPosition } from '../../contracts/ingestion.js';

/** Where an incoming offset stands relative to the committed-or-accepted position. */
export type Placement =
  | { kind: 'next' }
  | { kind: 'gap'; from: number; to: number }
  /** At or before the position: a duplicate (same event seen here) or a restarted source. */
  | { kind: 'behind'; seenHere: boolean };

const NEXT: Placement = { kind: 'next' };

/** Where the 32 hex digits of a UUID's text are. */
const UUID_DIGITS = [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35];
const uuidWords = new Uint32Array(4);

/** Reads a lower-case UUID's 128 bits into `uuidWords`; false for any other text. */
function readUuid(text: string): boolean {
  if (text.length !== 36 || text.charCodeAt(8) !== 45 || text.charCodeAt(13) !== 45 || text.charCodeAt(18) !== 45 || text.charCodeAt(23) !== 45) return false;
  for (let word = 0; word < 4; word++) {
    let value = 0;
    for (let digit = word * 8; digit < word * 8 + 8; digit++) {
      const code = text.charCodeAt(UUID_DIGITS[digit]!);
      const nibble = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : -1;
      if (nibble < 0) return false;
      value = value * 16 + nibble;
    }
    uuidWords[word] = value;
  }
  return true;
}

const NO_ID = 0;
const UUID_ID = 1;
const OTHER_ID = 2;

/**
 * The last accepted offsets (in increasing order) and their event_ids, in typed arrays that grow as
 * needed: ~25 bytes an event where a Map of strings took ~100, and ~200 quiet streams each remember a
 * session's worth. An event_id that is not a lower-case UUID is kept as it came, beside them.
 */
class RecentEvents {
  private offsets = new Float64Array(0);
  private idWords = new Uint32Array(0);
  private idKinds = new Uint8Array(0);
  private readonly otherIds = new Map<number, string>();
  private first = 0;
  private count = 0;

  constructor(private readonly capacity: number) {}

  clear(): void {
    this.first = 0;
    this.count = 0;
    this.otherIds.clear();
  }

  /** Remembers `offset`, which follows every offset remembered (a later one is forgotten first). */
  add(offset: number, eventId: string | null): void {
    while (this.count > 0 && this.offsets[this.slot(this.count - 1)]! >= offset) this.forget(this.count - 1);
    if (this.count === this.capacity) this.forget(0);
    if (this.count === this.offsets.length) this.grow();
    const slot = this.slot(this.count);
    this.count += 1;
    this.offsets[slot] = offset;
    if (eventId === null) this.idKinds[slot] = NO_ID;
    else if (readUuid(eventId)) {
      this.idKinds[slot] = UUID_ID;
      this.idWords.set(uuidWords, slot * 4);
    } else {
      this.idKinds[slot] = OTHER_ID;
      this.otherIds.set(offset, eventId);
    }
  }

  /** Whether `offset` is remembered, and with `eventId` when one is given. */
  holds(offset: number, eventId: string | null): boolean {
    const slot = this.find(offset);
    if (slot === undefined) return false;
    if (eventId === null) return true;
    const kind = this.idKinds[slot];
    if (kind === OTHER_ID) return this.otherIds.get(offset) === eventId;
    if (kind === NO_ID || !readUuid(eventId)) return false;
    const words = slot * 4;
    return uuidWords.every((value, word) => this.idWords[words + word] === value);
  }

  private slot(index: number): number {
    return (this.first + index) % this.offsets.length;
  }

  private find(offset: number): number | undefined {
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const slot = this.slot(middle);
      const at = this.offsets[slot]!;
      if (at === offset) return slot;
      if (at < offset) low = middle + 1;
      else high = middle - 1;
    }
    return undefined;
  }

  /** Forgets the oldest (index 0) or the newest (index count - 1). */
  private forget(index: number): void {
    const slot = this.slot(index);
    if (this.idKinds[slot] === OTHER_ID) this.otherIds.delete(this.offsets[slot]!);
    if (index === 0) this.first = (this.first + 1) % this.offsets.length;
    this.count -= 1;
  }

  private grow(): void {
    const length = Math.min(this.capacity, Math.max(64, this.offsets.length * 2));
    const offsets = new Float64Array(length);
    const idWords = new Uint32Array(length * 4);
    const idKinds = new Uint8Array(length);
    for (let index = 0; index < this.count; index++) {
      const slot = this.slot(index);
      offsets[index] = this.offsets[slot]!;
      idWords.set(this.idWords.subarray(slot * 4, slot * 4 + 4), index * 4);
      idKinds[index] = this.idKinds[slot]!;
    }
    this.offsets = offsets;
    this.idWords = idWords;
    this.idKinds = idKinds;
    this.first = 0;
  }
}

/**
 * Tracks the stream position while a session reads, and remembers recent offset → event_id pairs so
 * a redelivered event can be told from a new event at a reused offset (a source that restarted).
 */
export class StreamSequencer {
  private current: StreamPosition;
  private readonly recent: RecentEvents;

  constructor(
    start: StreamPosition,
    recentCapacity = 20_000,
  ) {
    this.current = { ...start };
    this.recent = new RecentEvents(recentCapacity);
    if (start.lastEventId) this.recent.add(start.offset, start.lastEventId);
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
    return { kind: 'behind', seenHere: this.recent.holds(offset, eventId) };
  }

  /** Takes the event at `offset` (which must be `position.offset + 1`, or later after a recorded loss). */
  accept(offset: number, eventId: string | null): void {
    this.current.offset = offset;
    this.current.lastEventId = eventId;
    this.recent.add(offset, eventId);
  }

  /** The source restarted: its offsets begin again at 1 in a new epoch. */
  startNewEpoch(): StreamPosition {
    this.current = { offset: 0, epoch: this.current.epoch + 1, lastEventId: null };
    this.recent.clear();
    return this.position;
  }
}
