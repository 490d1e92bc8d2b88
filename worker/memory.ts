import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

/**
 * After each full collection V8 lets the worker's heap grow to up to ~4× its live data before the
 * next; twice (with an 8 MB young generation, 4 MB now) kept a worker of 200 feeds ~100 MB smaller and one of
 * a feed at full speed ~110 MB smaller, at no CPU cost measurable on that feed (stack/node-flags.ts
 * has the figures). Set at start rather than on the command line, so the worker keeps it however it
 * is launched: V8 reads it at every collection, and NODE_OPTIONS may not carry it.
 */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString('--heap-growing-percent=100');
}

/** Which malloc the worker runs on, for its start-up line: `up` and the image preload jemalloc (stack/node-flags.ts). */
export function memoryAllocator(): 'jemalloc' | 'system malloc' {
  try {
    return readFileSync('/proc/self/maps', 'utf8').includes('/libjemalloc') ? 'jemalloc' : 'system malloc';
  } catch {
    return 'system malloc';
  }
}
