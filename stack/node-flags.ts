/**
 * V8 flags for our long-running components, given on their command line (`up`, the benchmark) and in
 * docker-compose's NODE_OPTIONS. V8 grows a heap far past its live data before it collects when it
 * may; bounds trade that memory for collection time. The event API keeps its bounds.
 *
 * The worker has no bound. Its young generation is 8 MB instead of 32 (`--max-semi-space-size=4`,
 * in the main thread and the workflow thread alike), and it lets its old generation grow to twice its
 * live data rather than up to four times (worker/heap-growth.ts, set by the worker itself: V8 does
 * not take that flag from NODE_OPTIONS). One feed at full speed, bench throughput windows on the same
 * machine and hour: peak RSS 230 MB against 336–353, 49–50 µs of worker CPU per event against 43–52.
 * Growing to 1.5× only (`--heap-growing-percent=50`) held it at 206–211 MB but cost 54–65 µs per
 * event; the bounds the worker once had (`--max-old-space-size=160 --max-semi-space-size=8`) cost
 * 40–43 µs against 31 then, most of it marking.
 */
export const COMPONENT_NODE_FLAGS: Record<'worker' | 'api', readonly string[]> = {
  worker: ['--max-semi-space-size=4'],
  api: ['--max-old-space-size=320', '--max-semi-space-size=8'],
};
