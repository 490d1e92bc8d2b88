import { existsSync } from 'node:fs';

/**
 * V8 flags for our long-running components, given on their command line (`up`, the benchmark) and in
 * docker-compose's NODE_OPTIONS. V8 grows a heap far past its live data before it collects when it
 * may; bounds trade that memory for collection time. The event API keeps its bounds.
 *
 * The worker has no bound. Its young generation is 4 MB instead of 32 (`--max-semi-space-size=2`,
 * in the main thread and the workflow thread alike), and it lets its old generation grow to twice its
 * live data rather than up to four times (worker/memory.ts, set by the worker itself: V8 does
 * not take that flag from NODE_OPTIONS). One feed at full speed, bench throughput windows on the same
 * machine and hour: peak RSS 230 MB against 336–353, 49–50 µs of worker CPU per event against 43–52.
 * Growing to 1.5× only (`--heap-growing-percent=50`) held it at 206–211 MB but cost 54–65 µs per
 * event; the bounds the worker once had (`--max-old-space-size=160 --max-semi-space-size=8`) cost
 * 40–43 µs against 31 then, most of it marking. A 4 MB young generation rather than 8: 194 MB against
 * 197–202, at 31.7–33.3 µs an event against 31.7–35.5 (same hour, interleaved).
 */
export const COMPONENT_NODE_FLAGS: Record<'worker' | 'api', readonly string[]> = {
  worker: ['--max-semi-space-size=2'],
  api: ['--max-old-space-size=320', '--max-semi-space-size=8'],
};

/** Debian's and Ubuntu's libjemalloc2, and where the image links it (Dockerfile). */
const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/local/lib/libjemalloc.so.2'];

/**
 * jemalloc for the worker, as the image runs it (Dockerfile): it returns a page as soon as it is free
 * (`dirty_decay_ms:0`), out of two arenas. With glibc's malloc the worker's memory outside the V8
 * heaps kept growing with its feeds (Temporal's core, Node's sockets and buffers: ~0.6 MB a feed):
 * 200 quiet feeds, bench quick runs in the same hour, peak RSS 297–300 MB against 391–418.
 * `MALLOC_ARENA_MAX=2` alone was no steady gain, nor jemalloc's defaults on one feed. Returning pages
 * at once rather than within a second (from a decay thread) took one feed at full speed from 204–207 MB
 * to 198–201, at 28.5–37.1 µs of worker CPU per event against 29.8–33.4 (four interleaved runs each;
 * the means 33.5 and 31.6 differ by less than the runs spread, see bench/README.md).
 */
export const WORKER_MALLOC_CONF = 'dirty_decay_ms:0,muzzy_decay_ms:0,narenas:2';

/**
 * The environment a component runs with beyond the stack's own settings: the worker gets jemalloc when
 * this machine has it (`apt-get install libjemalloc2`) and the operator preloads nothing else.
 */
export function componentEnvironment(component: keyof typeof COMPONENT_NODE_FLAGS, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (component !== 'worker' || env.LD_PRELOAD) return {};
  const jemalloc = JEMALLOC_PATHS.find((candidate) => existsSync(candidate));
  return jemalloc ? { LD_PRELOAD: jemalloc, MALLOC_CONF: env.MALLOC_CONF ?? WORKER_MALLOC_CONF } : {};
}
