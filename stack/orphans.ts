import { existsSync, readFileSync } from 'node:fs';
import { waitUntil } from './wait.js';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a process a previous run left behind (its supervisor was killed outright), found by the pid on
 * the first line of `pidFile` and running `command`, so a new start does not collide with its lock or its port.
 */
export async function stopLeftover(pidFile: string, command: string, signal: NodeJS.Signals, log: (line: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid || !isAlive(pid)) return;
  // A pid can be reused: only a process running the expected program is ours to stop.
  const commandLine = existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8') : '';
  if (!commandLine.includes(command)) return;
  log(`stopping process ${pid} left running by an earlier start (${pidFile})`);
  process.kill(pid, signal);
  await waitUntil(`left-over process ${pid} exits`, 30_000, async () => !isAlive(pid));
}
