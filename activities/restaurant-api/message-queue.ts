/** One SSE message as it arrived: the offset from its `id:` line (null without one) and the raw `data:`. */
export interface StreamMessage {
  offset: number | null;
  data: string;
  /** Set for an event over the size bound: its size and first bytes (`data` is then empty). */
  oversized?: { bytes: number; head: string };
}

/**
 * What a queue starts with: a quiet feed holds a few events at a time, and a worker holds hundreds of
 * feeds (at 1 MiB each, 200 MiB); a busy feed's queue doubles to what it needs, and gives back what it
 * no longer needs (a feed that caught up after a burst held 138 KiB on average, 23 MiB for 165 feeds).
 */
const INITIAL_BYTES = 16 << 10;
const INITIAL_MESSAGES = 64;

/** Twice `held`, as a power of two, and at least `least`. */
const roomFor = (held: number, least: number) => Math.max(least, 2 ** Math.ceil(Math.log2(Math.max(1, 2 * held))));

/**
 * The feed's unread messages, as bytes in one buffer that is reused, not as strings: a message waits
 * here up to two batch times, long enough to be promoted to the old generation, where it soon becomes
 * garbage that only a full collection frees. A message becomes a string when it is taken.
 */
export class MessageQueue {
  private bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  private end = 0;
  /** Per message: its offset (NaN without one), where its data starts and how long it is. */
  private offsets = new Float64Array(INITIAL_MESSAGES);
  private starts = new Int32Array(INITIAL_MESSAGES);
  private lengths = new Int32Array(INITIAL_MESSAGES);
  private count = 0;
  /** The most bytes and messages held since the queue was last empty. */
  private peakEnd = 0;
  private peakCount = 0;
  /** The rare oversized stand-ins, by their place in the queue. */
  private oversized = new Map<number, NonNullable<StreamMessage['oversized']>>();

  get length(): number {
    return this.count;
  }

  /** Bytes set aside for messages, used or not. */
  get reservedBytes(): number {
    return this.bytes.byteLength;
  }

  push(offset: number | null, data: Uint8Array, oversized?: StreamMessage['oversized']): void {
    if (this.count === this.offsets.length) this.resizeMessages(this.offsets.length * 2);
    if (this.end + data.byteLength > this.bytes.byteLength) this.growBytes(this.end + data.byteLength);
    this.bytes.set(data, this.end);
    this.offsets[this.count] = offset ?? Number.NaN;
    this.starts[this.count] = this.end;
    this.lengths[this.count] = data.byteLength;
    if (oversized) this.oversized.set(this.count, oversized);
    this.end += data.byteLength;
    this.count += 1;
    if (this.end > this.peakEnd) this.peakEnd = this.end;
    if (this.count > this.peakCount) this.peakCount = this.count;
  }

  /** Removes and returns the oldest `max` messages (fewer when fewer are queued). */
  take(max: number): StreamMessage[] {
    const taken = Math.min(max, this.count);
    const messages = new Array<StreamMessage>(taken);
    for (let index = 0; index < taken; index += 1) {
      const offset = this.offsets[index]!;
      const start = this.starts[index]!;
      const message: StreamMessage = { offset: Number.isNaN(offset) ? null : offset, data: this.bytes.toString('utf8', start, start + this.lengths[index]!) };
      const oversized = this.oversized.get(index);
      if (oversized) message.oversized = oversized;
      messages[index] = message;
    }
    this.drop(taken);
    return messages;
  }

  clear(): void {
    this.drop(this.count);
  }

  /** Moves what is left to the front: the bytes and entries of a batch's worth of unread messages at most. */
  private drop(taken: number): void {
    const firstKept = taken < this.count ? this.starts[taken]! : this.end;
    this.bytes.copy(this.bytes, 0, firstKept, this.end);
    this.end -= firstKept;
    this.offsets.copyWithin(0, taken, this.count);
    this.lengths.copyWithin(0, taken, this.count);
    this.starts.copyWithin(0, taken, this.count);
    this.count -= taken;
    for (let index = 0; index < this.count; index += 1) this.starts[index]! -= firstKept;
    if (this.oversized.size > 0) this.oversized = new Map([...this.oversized].filter(([index]) => index >= taken).map(([index, value]) => [index - taken, value]));
    if (this.count === 0) this.fitToPeak();
  }

  /**
   * Once empty, a queue keeps room for twice what it held since it was last empty (a busy feed empties
   * it at every batch and keeps its size) and gives back the rest (a feed that has caught up).
   */
  private fitToPeak(): void {
    const bytes = roomFor(this.peakEnd, INITIAL_BYTES);
    if (this.bytes.byteLength > 2 * bytes) this.bytes = Buffer.allocUnsafe(bytes);
    const messages = roomFor(this.peakCount, INITIAL_MESSAGES);
    if (this.offsets.length > 2 * messages) this.resizeMessages(messages);
    this.peakEnd = 0;
    this.peakCount = 0;
  }

  private growBytes(needed: number): void {
    const grown = Buffer.allocUnsafe(Math.max(needed, this.bytes.byteLength * 2));
    this.bytes.copy(grown, 0, 0, this.end);
    this.bytes = grown;
  }

  private resizeMessages(size: number): void {
    const offsets = new Float64Array(size);
    const starts = new Int32Array(size);
    const lengths = new Int32Array(size);
    offsets.set(this.offsets.subarray(0, this.count));
    starts.set(this.starts.subarray(0, this.count));
    lengths.set(this.lengths.subarray(0, this.count));
    this.offsets = offsets;
    this.starts = starts;
    this.lengths = lengths;
  }
}
