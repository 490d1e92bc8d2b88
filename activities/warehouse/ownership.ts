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
 * checkpoint row yet gets one at `initial`.
 */
export async function takeOwnership(client: pg.ClientBase, stream: string, token: string, initial: StreamPosition): Promise<StreamOwnership> {
  // Deadlines for every statement of the session, in the same round trip.
  await client.query(
    `SET statement_timeout = ${SESSION_STATEMENT_TIMEOUT_MS}; SET idle_in_transaction_session_timeout = ${SESSION_IDLE_IN_TRANSACTION_MS}`,
  );
  const { rows } = await client.query<{ event_offset: string; source_epoch: string; last_event_id: string | null; owner_generation: string }>(
    `INSERT INTO raw_data.stream_checkpoints AS c (stream_name, event_offset, source_epoch, last_event_id, owner_token, owner_generation, owner_since)
     VALUES ($1, $2, $3, $4, $5, 1, now())
     ON CONFLICT (stream_name) DO UPDATE SET owner_token = EXCLUDED.owner_token, owner_generation = c.owner_generation + 1, owner_since = now()
     RETURNING event_offset, source_epoch, last_event_id, owner_generation`,
    [stream, initial.offset, String(initial.epoch), initial.lastEventId, token],
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
