import { createHash } from 'node:crypto';

/** Four 32-bit words hashed from a seed string: the root of every random stream of one simulation. */
export type SeedKey = readonly [number, number, number, number];

export function seedKey(seed: string): SeedKey {
  const digest = createHash('sha256').update(seed).digest();
  return [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
}

/** The independent random streams of one simulation, each indexed (by order index, or 0). */
export const STREAM = { menu: 1, order: 2, faults: 3 } as const;

/** MurmurHash3's finaliser: spreads every input bit over the whole word. */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A table for `Random.weighted`: values with their cumulative weights. */
export interface WeightedTable<T> {
  readonly values: readonly T[];
  readonly cumulative: readonly number[];
  readonly total: number;
}

export function weightedTable<T>(entries: ReadonlyArray<readonly [T, number]>): WeightedTable<T> {
  let total = 0;
  const cumulative = entries.map(([, weight]) => (total += weight));
  return { values: entries.map(([value]) => value), cumulative, total };
}

/** sfc32: small, fast, and good enough for a simulation; never used for anything secret. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    for (let i = 0; i < 15; i++) this.uint32();
  }

  /**
   * The stream for one (purpose, index) of a seed, e.g. the order with index 1234: each order draws from
   * its own stream, so any order can be regenerated without the ones before it.
   */
  static stream(key: SeedKey, purpose: number, index: number): Random {
    const low = index >>> 0;
    const high = Math.floor(index / 0x1_0000_0000) >>> 0;
    return new Random(
      key[0] ^ mix32(low ^ Math.imul(purpose, 0x9e3779b9)),
      key[1] ^ mix32(high + 0x632be5ab),
      key[2] ^ mix32(low + purpose + 0x2545f491),
      key[3] ^ mix32(Math.imul(low, 0x7feb352d) ^ high ^ purpose),
    );
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 0x1_0000_0000;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.next() * values.length)] as T;
  }

  weighted<T>(table: WeightedTable<T>): T {
    const target = this.next() * table.total;
    const { cumulative, values } = table;
    for (let i = 0; i < cumulative.length - 1; i++) {
      if (target < (cumulative[i] as number)) return values[i] as T;
    }
    return values[values.length - 1] as T;
  }

  /** `digits` upper-case hex characters. */
  hex(digits: number): string {
    let text = '';
    while (text.length < digits) text += this.uint32().toString(16).padStart(8, '0');
    return text.slice(0, digits).toUpperCase();
  }

  /** A version-4 UUID (RFC 9562) made of this stream's bits. */
  uuid(): string {
    const w0 = this.uint32();
    const w1 = this.uint32();
    const w2 = this.uint32();
    const w3 = this.uint32();
    const byte = (word: number, shift: number) => HEX[(word >>> shift) & 0xff] as string;
    return (
      byte(w0, 24) + byte(w0, 16) + byte(w0, 8) + byte(w0, 0) + '-' +
      byte(w1, 24) + byte(w1, 16) + '-' +
      HEX[0x40 | ((w1 >>> 8) & 0x0f)] + byte(w1, 0) + '-' +
      HEX[0x80 | ((w2 >>> 24) & 0x3f)] + byte(w2, 16) + '-' +
      byte(w2, 8) + byte(w2, 0) + byte(w3, 24) + byte(w3, 16) + byte(w3, 8) + byte(w3, 0)
    );
  }
}
