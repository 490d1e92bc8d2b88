import { cpuByPid } from './proc-stats.js';

/** Which processes make up each component (re-evaluated at the end: backends come and go). */
export type ComponentPids = Record<string, () => readonly number[]>;

/**
 * Where the machine's CPU went during a window: cores used by each component (1.0 = one core busy
 * the whole time). On a machine with few cores this says which process a throughput limit sits in.
 */
export function startCpuShare(components: ComponentPids): { stop(): Record<string, number> } {
  const startedAt = performance.now();
  const before = new Map(Object.entries(components).map(([name, pids]) => [name, cpuByPid(pids())]));
  return {
    stop() {
      const seconds = (performance.now() - startedAt) / 1000;
      const cores: Record<string, number> = {};
      for (const [name, pids] of Object.entries(components)) {
        const start = before.get(name) ?? new Map<number, number>();
        let used = 0;
        // A process born during the window counts from zero; one that ended during it is not seen.
        for (const [pid, now] of cpuByPid(pids())) used += now - (start.get(pid) ?? 0);
        cores[name] = Number((used / seconds).toFixed(2));
      }
      return cores;
    },
  };
}
