import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
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
  await waitUntil(`left-over process ${pid} exits`, 30_000, () => Promise.resolve(!isAlive(pid)));
}

/** The file a Temporal dev server started with `--db-filename dbFile` keeps its pid in. */
export const devServerPidFile = (dbFile: string) => `${dbFile}.pid`;

/**
 * Removes the folders of earlier runs (named by their pid) whose process has gone. A run killed
 * outright may have left its PostgreSQL (`<run>/postgres`) and Temporal dev servers (`<run>/*.sqlite`)
 * running, in process groups of their own: they are stopped first, matched by their command lines
 * naming the folder, so a reused pid is never someone else's server.
 */
export async function removeFinishedRuns(runsDir: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(runsDir)) return;
  for (const pid of readdirSync(runsDir)) {
    if (isAlive(Number(pid))) continue;
    const runDir = path.join(runsDir, pid);
    await stopLeftover(path.join(runDir, 'postgres', 'postmaster.pid'), path.join(runDir, 'postgres'), 'SIGINT', log);
    for (const file of readdirSync(runDir).filter((name) => name.endsWith('.sqlite'))) {
      await stopLeftover(devServerPidFile(path.join(runDir, file)), path.join(runDir, file), 'SIGTERM', log);
    }
    rmSync(runDir, { recursive: true, force: true });
  }
}
