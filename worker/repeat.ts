import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../telemetry/logger.js';

/**
 * Runs `work` every `intervalMs` until `signal` aborts. While it keeps failing the same way (the
 * warehouse or Temporal unreachable) that is logged once, not at every turn, and its recovery once.
 */
export async function repeatUntilAborted(options: { what: string; intervalMs: number; logger: Logger; signal: AbortSignal }, work: () => Promise<void>): Promise<void> {
  const { what, intervalMs, logger, signal } = options;
  let failing: string | undefined;
  while (!signal.aborted) {
    try {
      await work();
      if (failing !== undefined) logger.info(`${what} works again`);
      failing = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== failing) logger.warn(`${what} failed; retrying`, { error: message });
      failing = message;
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}
