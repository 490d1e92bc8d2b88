import type { Kysely } from 'kysely';
import type { StreamPosition } from '../contracts/ingestion.js';
import type { WarehouseDatabase } from './schema.js';

/** The committed position of a stream, or null before its first batch. */
export async function readCheckpoint(db: Kysely<WarehouseDatabase>, stream: string): Promise<StreamPosition | null> {
  const row = await db
    .selectFrom('raw_data.stream_checkpoints')
    .select(['event_offset', 'source_epoch', 'last_event_id'])
    .where('stream_name', '=', stream)
    .executeTakeFirst();
  return row ? { offset: Number(row.event_offset), epoch: Number(row.source_epoch) || 1, lastEventId: row.last_event_id } : null;
}
