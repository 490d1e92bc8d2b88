import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { confirmPresence, holdPresence, releasePresence } from '../activities/warehouse/presence.js';
import type { Logger } from '../telemetry/logger.js';

/** How often the presence connection is confirmed (a lost one is re-established, with the same key when it is free). */
const CONFIRM_INTERVAL_MS = 1_000;
const RETRY_MS = 500;

/**
 * This worker's presence in the warehouse (see activities/warehouse/presence.ts): one of the pool's
 * connections, for the worker's life, holds the presence lock. Each session records the key; any worker
 * fails, at once, the sessions whose worker's key is no longer held (worker/abandoned-sessions.ts).
 */
export class WorkerPresence {
  private held: number | null = null;
  private resolveEstablished!: () => void;
  /** Resolves once presence is first held. */
  readonly established = new Promise<void>((resolve) => (this.resolveEstablished = resolve));

  constructor(
    private readonly db: pg.Pool,
    private readonly logger: Logger,
  ) {}

  /** The key while presence is held; null while it is being re-established (sessions then started are left to the heartbeat timeout). */
  get key(): number | null {
    return this.held;
  }

  /** Holds presence until `signal` aborts, then releases it. */
  async hold(signal: AbortSignal): Promise<void> {
    let previous: number | undefined;
    let lost: string | undefined;
    while (!signal.aborted) {
      let client: pg.PoolClient | undefined;
      let failure: Error | undefined;
      const ignore = () => undefined;
      try {
        client = await this.db.connect();
        client.on('error', ignore);
        this.held = previous = await holdPresence(client, previous);
        this.resolveEstablished();
        if (lost !== undefined) this.logger.info('worker presence held again', { key: this.held });
        lost = undefined;
        while (!signal.aborted) {
          await sleep(CONFIRM_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
          if (!signal.aborted) await confirmPresence(client);
        }
        await releasePresence(client);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        if (failure.message !== lost) this.logger.warn('worker presence lost; re-establishing it', { error: failure.message });
        lost = failure.message;
      } finally {
        this.held = null;
        client?.off('error', ignore);
        client?.release(failure);
      }
      if (failure) await sleep(RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
  }
}
