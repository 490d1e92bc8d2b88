/**
 * V8 heap bounds for our long-running components. Their live data is small (a worker holds a few
 * batches; the event API its retention), but V8 grows a heap far past that before it collects
 * when it may: measured on the worker at ~10,000 events/s, RSS peaked at 557 MB unbounded and stays
 * under 300 MB with these, at the same throughput.
 */
export const COMPONENT_NODE_FLAGS = {
  worker: ['--max-old-space-size=160', '--max-semi-space-size=8'],
  api: ['--max-old-space-size=320', '--max-semi-space-size=8'],
} as const;
