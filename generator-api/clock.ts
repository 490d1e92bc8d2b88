/** Microseconds since the Unix epoch: the resolution of the contract's timestamps. */
export type Micros = number;

export const MICROS_PER_SECOND = 1_000_000;

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `2026-11-24T17:06:17.151013+00:00`: always six fraction digits and `+00:00`, like the old source. */
export function formatTimestamp(micros: Micros): string {
  const second = Math.floor(micros / MICROS_PER_SECOND);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = `${new Date(second * 1000).toISOString().slice(0, 19)}.`;
  }
  return `${cachedPrefix}${String(micros - second * MICROS_PER_SECOND).padStart(6, '0')}+00:00`;
}

export function parseTimestamp(text: string): Micros {
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  const wholeSeconds = Date.parse(text.replace(/\.\d+/, '')) / 1000;
  return wholeSeconds * MICROS_PER_SECOND + Number(fraction.padEnd(6, '0').slice(0, 6));
}

/** The real time, monotonic within the process. */
export function wallClockMicros(): Micros {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export function hourOfDay(micros: Micros): number {
  return Math.floor(micros / 3_600_000_000) % 24;
}

export type Clock = 'wall' | 'simulated';
