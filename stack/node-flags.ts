/**
 * V8 flags for our long-running components. V8 grows a heap far past its live data before it
 * collects when it may; bounds trade that memory for collection time. The event API keeps its
 * bounds. The worker's keep it near 200 MB (bench throughput window: 342 MB unbounded, 383 MB before
 * events waited as bytes and received text rather than parsed objects): a young generation of 8 MB
 * instead of 32, and an old generation V8 grows to ~1.3× its live data (~35 MB) before collecting,
 * as it does under any bound below 256 MB, against ~4× unbounded; 256 MB leaves room for a burst of
 * large events. They cost collections: 44–54 µs of worker CPU per event against 35–44 unbounded on a
 * loaded machine (bench/README.md, Worker memory). `worker: []` trades the memory back for the CPU.
 */
export const COMPONENT_NODE_FLAGS: Record<'worker' | 'api', readonly string[]> = {
  worker: ['--max-semi-space-size=4', '--max-old-space-size=256'],
  api: ['--max-old-space-size=320', '--max-semi-space-size=8'],
};
