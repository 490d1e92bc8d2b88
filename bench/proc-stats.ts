import { readdirSync, readFileSync } from 'node:fs';

/*
 * What Linux tells about a process in /proc: its peak resident memory and the CPU time it used.
 * Readers return undefined for a process that has gone (or on a system without /proc).
 */

/** Linux reports CPU time in clock ticks of 1/100 s. */
const TICKS_PER_SECOND = 100;

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The high-water mark of the process's resident set (VmHWM), in MiB. */
export function peakRssMb(pid: number): number | undefined {
  const kib = /^VmHWM:\s+(\d+)\s+kB$/m.exec(read(`/proc/${pid}/status`) ?? '')?.[1];
  return kib === undefined ? undefined : Number(kib) / 1024;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  const stat = read(`/proc/${pid}/stat`);
  return stat === undefined ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  const fields = statFields(pid);
  // After the name: state(0) ppid(1) … utime(11) stime(12).
  return fields === undefined ? undefined : (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The process and its direct children (PostgreSQL's backends are children of the postmaster). */
export function processFamily(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [pid];
  }
  const children = entries.filter((entry) => /^\d+$/.test(entry) && statFields(Number(entry))?.[1] === String(pid)).map(Number);
  return [pid, ...children];
}

/** CPU seconds used so far by each pid still present, keyed by pid. */
export function cpuByPid(pids: readonly number[]): Map<number, number> {
  const used = new Map<number, number>();
  for (const pid of pids) {
    const seconds = cpuSeconds(pid);
    if (seconds !== undefined) used.set(pid, seconds);
  }
  return used;
}

/** Microseconds some task has waited for a CPU and for I/O since boot (Linux pressure stall information). */
export function pressureStallMicros(): { cpu: number; io: number } | undefined {
  const some = (resource: string) => Number(/^some .*total=(\d+)$/m.exec(read(`/proc/pressure/${resource}`) ?? '')?.[1] ?? Number.NaN);
  const stalls = { cpu: some('cpu'), io: some('io') };
  return Number.isNaN(stalls.cpu) || Number.isNaN(stalls.io) ? undefined : stalls;
}
