import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import type { StreamPosition } from '../../contracts/ingestion.js';
import type { Connections } from './connection-lender.js';
import { presenceHeld } from './presence.js';

/** How long one statement of a session may run: a query stuck longer fails the session, which is retried. */
export const SESSION_STATEMENT_TIMEOUT_MS = 15_000;
/**
 * A session's transaction left open by a frozen worker (SIGSTOP, a VM pause) holds row locks its
 * successor needs: PostgreSQL ends it after this long. Far above the gaps between a batch's statements.
 */
export const SESSION_IDLE_IN_TRANSACTION_MS = 5_000;

/** The failure type of a commit refused because another session owns the stream now. */
export const OWNERSHIP_LOST = 'StreamOwnershipLost';

/** The failure type of a session attempt failed by another worker because its own worker is gone. */
export const SESSION_OWNER_GONE = 'SessionOwnerGone';

export interface StreamOwnership {
  token: string;
  generation: number;
  /** The committed position when ownership was taken: where the session starts. */
  position: StreamPosition;
}

/**
 * The deadlines of a session's statements, set inside each of its transactions (SET LOCAL: a pooled
 * connection, or a pooler's server connection, keeps nothing for whoever uses it next).
 */
export const SESSION_LIMITS = `SELECT set_config('statement_timeout', '${SESSION_STATEMENT_TIMEOUT_MS}', true), set_config('idle_in_transaction_session_timeout', '${SESSION_IDLE_IN_TRANSACTION_MS}', true)`;

/** Where the owning session runs: its worker's presence key (see presence.ts) and its activity task token. */
export interface SessionOwner {
  worker: number | null;
  taskToken: Uint8Array;
}

/**
 * Takes ownership of a stream's checkpoint for one session: a new owner token and the next generation.
 * From then on a previous owner's commit matches no row and fails (see BatchWriter.saveCheckpoints).
 * The committed position comes back with it: it is the truth, ahead of anything a heartbeat or the
 * workflow remembers when a replaced session committed after its last heartbeat. A stream with no
 * checkpoint row yet gets one at `initial`. The row also records, for a session that runs as an
 * activity, its worker's presence and its task token: what `claimAbandonedSessions` needs.
 */
export async function takeOwnership(connections: Connections, stream: string, token: string, initial: StreamPosition, owner?: SessionOwner): Promise<StreamOwnership> {
  const row = await connections.lend(async (client) => {
    await client.query(`BEGIN; ${SESSION_LIMITS}`);
    try {
      const { rows } = await client.query<{ event_offset: string; source_epoch: string; last_event_id: string | null; owner_generation: string }>(
        `INSERT INTO raw_data.stream_checkpoints AS c
           (stream_name, event_offset, source_epoch, last_event_id, owner_token, owner_generation, owner_since, owner_worker, owner_task_token)
         VALUES ($1, $2, $3, $4, $5, 1, now(), $6, $7)
         ON CONFLICT (stream_name) DO UPDATE SET
           owner_token = EXCLUDED.owner_token, owner_generation = c.owner_generation + 1, owner_since = now(),
           owner_worker = EXCLUDED.owner_worker, owner_task_token = EXCLUDED.owner_task_token
         RETURNING event_offset, source_epoch, last_event_id, owner_generation`,
        [stream, initial.offset, String(initial.epoch), initial.lastEventId, token, owner?.worker ?? null, owner ? Buffer.from(owner.taskToken) : null],
      );
      await client.query('COMMIT');
      return rows[0]!;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
  return {
    token,
    generation: Number(row.owner_generation),
    position: { offset: Number(row.event_offset), epoch: Number(row.source_epoch) || 1, lastEventId: row.last_event_id },
  };
}

export function ownershipLost(stream: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: OWNERSHIP_LOST,
    nonRetryable: true,
    message: `stream ${stream}: another session took over (or a rewind moved the checkpoint); this session stops without committing`,
  });
}

/** A session whose worker is gone: its stream, and the task token of the attempt to fail. */
export interface AbandonedSession {
  stream: string;
  taskToken: Uint8Array;
}

/**
 * Owning sessions whose worker is gone: its presence lock was released, so its presence connection
 * closed (the worker died, or lost the warehouse and cannot commit anyway). Each is handed out once:
 * its task token is cleared as it is returned. A session recorded without a presence (started while
 * its worker's presence was down) is left to the heartbeat timeout.
 */
export async function claimAbandonedSessions(db: pg.Pool): Promise<AbandonedSession[]> {
  const { rows } = await db.query<{ stream_name: string; owner_task_token: Buffer }>(
    `WITH abandoned AS (
       SELECT c.stream_name, c.owner_task_token FROM raw_data.stream_checkpoints c
       WHERE c.owner_task_token IS NOT NULL AND c.owner_token IS NOT NULL AND c.owner_worker IS NOT NULL
         AND NOT ${presenceHeld('c.owner_worker')}
       FOR UPDATE OF c SKIP LOCKED
     )
     UPDATE raw_data.stream_checkpoints c SET owner_task_token = NULL
     FROM abandoned WHERE c.stream_name = abandoned.stream_name
     RETURNING abandoned.stream_name, abandoned.owner_task_token`,
  );
  return rows.map((row) => ({ stream: row.stream_name, taskToken: new Uint8Array(row.owner_task_token) }));
}
