import { setTimeout as sleep } from 'node:timers/promises';

/** Polls `probe` until it answers true; a probe that throws ends the wait with its error. */
export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting until ${what}`);
    await sleep(intervalMs);
  }
}
