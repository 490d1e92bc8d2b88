import type pg from 'pg';
import type { StreamPosition } from '../../workflows/messages.js';
import type { CheckpointRewind } from '../ingestion/contracts.js';

interface CheckpointRow extends Record<string, unknown> {
  event_offset: string;
  source_epoch: string;
  last_event_id: string | null;
}

/** The committed position of a stream, or null before its first batch. */
export async function readCheckpoint(db: pg.Pool, stream: string): Promise<StreamPosition | null> {
  const { rows } = await db.query<CheckpointRow>(
    'SELECT event_offset, source_epoch, last_event_id FROM raw_data.stream_checkpoints WHERE stream_name = $1',
    [stream],
  );
  const row = rows[0];
  return row ? { offset: Number(row.event_offset), epoch: Number(row.source_epoch) || 1, lastEventId: row.last_event_id } : null;
}

/**
 * Moves a stream's checkpoint (an operator's rewind). The event id at the new offset is left unknown,
 * so the next session does not mistake the rewind for a restarted source.
 */
export async function rewindCheckpoint(db: pg.Pool, { stream, offset, epoch }: CheckpointRewind): Promise<StreamPosition> {
  await db.query(
    `INSERT INTO raw_data.stream_checkpoints (stream_name, event_offset, source_epoch, last_event_id, updated_at)
     VALUES ($1, $2, $3, NULL, now())
     ON CONFLICT (stream_name) DO UPDATE SET event_offset = EXCLUDED.event_offset, source_epoch = EXCLUDED.source_epoch,
       last_event_id = NULL, updated_at = now()`,
    [stream, offset, String(epoch)],
  );
  return { offset, epoch, lastEventId: null };
}
