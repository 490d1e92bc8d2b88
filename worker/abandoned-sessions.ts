import { ActivityNotFoundError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import { claimAbandonedSessions, SESSION_OWNER_GONE } from '../activities/warehouse/ownership.js';
import type { Logger } from '../telemetry/logger.js';
import { repeatUntilAborted } from './repeat.js';

/** How often every worker looks for sessions whose worker died. */
const WATCH_INTERVAL_MS = 250;

/**
 * Fails, at once, the session attempts whose worker died (its presence lock went with its connection): Temporal
 * would otherwise notice only when the heartbeat timeout runs out. The attempt is failed by its own
 * task token, so a later attempt already running is never touched; the retry follows after the retry
 * interval. Runs until `signal` aborts.
 */
export async function watchAbandonedSessions(options: { db: pg.Pool; client: Client; logger: Logger; signal: AbortSignal }): Promise<void> {
  const { db, client, logger, signal } = options;
  await repeatUntilAborted({ what: 'looking for abandoned sessions', intervalMs: WATCH_INTERVAL_MS, logger, signal }, async () => {
    for (const session of await claimAbandonedSessions(db)) {
      const reason = `stream ${session.stream}: the session's worker is gone (its presence in the warehouse ended); retrying without waiting for the heartbeat timeout`;
      try {
        await client.activity.fail(session.taskToken, ApplicationFailure.retryable(reason, SESSION_OWNER_GONE));
        logger.warn('failed an abandoned session', { stream: session.stream });
      } catch (error) {
        // Already ended (completed, timed out, or failed by another worker): nothing to do. Otherwise
        // its token is spent, so the heartbeat timeout replaces it; the other sessions still go on.
        if (!(error instanceof ActivityNotFoundError)) {
          logger.warn('could not fail an abandoned session; its heartbeat timeout will', { stream: session.stream, error: error instanceof Error ? error.message : String(error) });
        }
      }
    }
  });
}
