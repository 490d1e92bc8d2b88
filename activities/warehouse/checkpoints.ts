import { sql, type Kysely } from 'kysely';
import type { CheckpointRewind, StreamClaimRequest, StreamPosition } from '../../contracts/ingestion.js';
import type { WarehouseDatabase } from '../../warehouse/schema.js';

/**
 * Moves a stream's checkpoint (an operator's rewind). The event id at the new offset is left unknown,
 * so the next session does not mistake the rewind for a restarted source. The owner is revoked: a
 * session still running somewhere can no longer commit over the rewind.
 */
export async function rewindCheckpoint(db: Kysely<WarehouseDatabase>, { stream, offset, epoch }: CheckpointRewind): Promise<StreamPosition> {
  const position = { event_offset: String(offset), source_epoch: String(epoch), last_event_id: null };
  await db
    .insertInto('raw_data.stream_checkpoints')
    .values({ stream_name: stream, ...position })
    .onConflict((conflict) =>
      conflict.column('stream_name').doUpdateSet({ ...position, owner_token: null, owner_generation: sql`raw_data.stream_checkpoints.owner_generation + 1`, updated_at: new Date() }),
    )
    .execute();
  return { offset, epoch, lastEventId: null };
}

/**
 * Makes `workflowId` the one consumer of its stream, unless another workflow that is still running
 * (asked through `isRunning`) holds it. The row is locked meanwhile, so of two workflows claiming at
 * once the second sees the first. A stream without a row gets one at offset 0, as before its first batch.
 */
export async function claimStream(
  db: Kysely<WarehouseDatabase>,
  { stream, workflowId, mode }: StreamClaimRequest,
  isRunning: (workflowId: string) => Promise<boolean>,
): Promise<{ heldBy: string | null }> {
  return db.transaction().execute(async (trx) => {
    await trx.insertInto('raw_data.stream_checkpoints').values({ stream_name: stream, event_offset: '0' }).onConflict((conflict) => conflict.column('stream_name').doNothing()).execute();
    const row = await trx
      .selectFrom('raw_data.stream_checkpoints')
      .select('consumer_workflow_id')
      .where('stream_name', '=', stream)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const holder = row.consumer_workflow_id;
    if (holder && holder !== workflowId && (await isRunning(holder))) return { heldBy: holder };
    await trx
      .updateTable('raw_data.stream_checkpoints')
      .set({ consumer_workflow_id: workflowId, consumer_mode: mode, consumer_claimed_at: new Date() })
      .where('stream_name', '=', stream)
      .execute();
    return { heldBy: null };
  });
}
