import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import type { StreamPosition } from '../../contracts/ingestion.js';

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
 * Takes ownership of a stream's checkpoint for one session: a new owner token and the next generation.
 * From then on a previous owner's commit matches no row and fails (see BatchWriter.saveCheckpoint).
 * The committed position comes back with it: it is the truth, ahead of anything a heartbeat or the
 * workflow remembers when a replaced session committed after its last heartbeat. A stream with no
 * checkpoint row yet gets one at `initial`. The row also records the session's backend and, when it
 * runs as an activity, its task token: what `claimAbandonedSessions` needs.
 */
export async function takeOwnership(client: pg.ClientBase, stream: string, token: string, initial: StreamPosition, taskToken?: Uint8Array): Promise<StreamOwnership> {
  // Deadlines for every statement of the session, in the same round trip.
  await client.query(
    `SET statement_timeout = ${SESSION_STATEMENT_TIMEOUT_MS}; SET idle_in_transaction_session_timeout = ${SESSION_IDLE_IN_TRANSACTION_MS}`,
  );
  const { rows } = await client.query<{ event_offset: string; source_epoch: string; last_event_id: string | null; owner_generation: string }>(
    `INSERT INTO raw_data.stream_checkpoints AS c
       (stream_name, event_offset, source_epoch, last_event_id, owner_token, owner_generation, owner_since, owner_backend_pid, owner_backend_start, owner_task_token)
     SELECT $1, $2, $3, $4, $5, 1, now(), a.pid, a.backend_start, $6
     FROM pg_stat_activity a WHERE a.pid = pg_backend_pid()
     ON CONFLICT (stream_name) DO UPDATE SET
       owner_token = EXCLUDED.owner_token, owner_generation = c.owner_generation + 1, owner_since = now(),
       owner_backend_pid = EXCLUDED.owner_backend_pid, owner_backend_start = EXCLUDED.owner_backend_start, owner_task_token = EXCLUDED.owner_task_token
     RETURNING event_offset, source_epoch, last_event_id, owner_generation`,
    [stream, initial.offset, String(initial.epoch), initial.lastEventId, token, taskToken ? Buffer.from(taskToken) : null],
  );
  const row = rows[0]!;
  return {
    token,
    generation: Number(row.owner_generation),
    position: { offset: Number(row.event_offset), epoch: Number(row.source_epoch) || 1, lastEventId: row.last_event_id },
  };
}

/**
 * Puts the session's connection back to the pool's defaults (maintenance shares the pool), without the
 * plans it cached. PostgreSQL keeps the plans of foreign-key checks and trigger statements for the
 * connection's life, re-planning only when a table's statistics change: planned while a fact table was
 * empty (a new warehouse, a truncate) they scan it whole for every row until autovacuum analyzes it, a
 * minute or more (measured: at 10M raw rows, 1,400 instead of 11,000 events/s). Dropping them at every
 * session boundary bounds that to one session.
 */
export async function resetSessionState(client: pg.ClientBase): Promise<void> {
  await client.query('RESET statement_timeout; RESET idle_in_transaction_session_timeout; DISCARD PLANS');
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
 * Owning sessions whose backend has ended: their connection closed, so their worker died (or lost the
 * warehouse, and cannot commit anyway). Each is handed out once: its task token is cleared as it is
 * returned. A backend this role may not see (another role's session shows no start time) counts as
 * alive; the heartbeat timeout still catches its session.
 */
export async function claimAbandonedSessions(db: pg.Pool): Promise<AbandonedSession[]> {
  const { rows } = await db.query<{ stream_name: string; owner_task_token: Buffer }>(
    `WITH abandoned AS (
       SELECT c.stream_name, c.owner_task_token FROM raw_data.stream_checkpoints c
       WHERE c.owner_task_token IS NOT NULL AND c.owner_token IS NOT NULL
         AND NOT EXISTS (
           SELECT 1 FROM pg_stat_activity a
           WHERE a.pid = c.owner_backend_pid AND (a.backend_start IS NULL OR a.backend_start = c.owner_backend_start)
         )
       FOR UPDATE OF c SKIP LOCKED
     )
     UPDATE raw_data.stream_checkpoints c SET owner_task_token = NULL
     FROM abandoned WHERE c.stream_name = abandoned.stream_name
     RETURNING abandoned.stream_name, abandoned.owner_task_token`,
  );
  return rows.map((row) => ({ stream: row.stream_name, taskToken: new Uint8Array(row.owner_task_token) }));
}
