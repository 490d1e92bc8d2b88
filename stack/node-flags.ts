/**
 * V8 flags for our long-running components. V8 grows a heap far past its live data before it
 * collects when it may; bounds trade that memory for collection time. The event API keeps its
 * bounds. The worker runs without: the ones it had (`--max-old-space-size=160
 * --max-semi-space-size=8`) held its peak RSS ~150 MB lower but made it spend 40–43 µs of CPU per
 * event instead of 31 (bench throughput window, compiled worker, side by side), most of it marking.
 */
export const COMPONENT_NODE_FLAGS: Record<'worker' | 'api', readonly string[]> = {
  worker: [],
  api: ['--max-old-space-size=320', '--max-semi-space-size=8'],
};
