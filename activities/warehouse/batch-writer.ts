import type pg from 'pg';
import type { StreamPosition } from '../../workflows/messages.js';
import type { Batch } from '../ingestion/batch.js';
import type { AcceptedEvent, ProcessorRegistry, SqlClient } from '../processors/processor.js';
import { columns } from './unnest-columns.js';

export interface BatchCommit {
  stream: string;
  batch: Batch;
  /** The checkpoint after this batch; committed in the same transaction as its rows. */
  position: StreamPosition;
  lastEventTs: string | null;
  sourceHeadOffset: number | null;
}

interface StagedChild extends Record<string, unknown> {
  event_id: string;
  event_type: string;
  source_epoch: string;
  event_offset: string;
  ts: Date;
  payload: unknown;
}

/**
 * Writes a session's batches on one connection: each batch is one transaction holding the raw events,
 * the facts (through the processors), staged children, rejections, source restarts and the checkpoint.
 */
export class BatchWriter {
  constructor(
    private readonly client: pg.ClientBase,
    private readonly processors: ProcessorRegistry,
    private readonly ingestedBy: string,
  ) {}

  async eventExists(eventId: string): Promise<boolean> {
    const { rowCount } = await this.client.query('SELECT 1 FROM raw_data.events_raw WHERE event_id = $1', [eventId]);
    return (rowCount ?? 0) > 0;
  }

  async write(commit: BatchCommit): Promise<void> {
    const sql = this.client as unknown as SqlClient;
    await this.client.query('BEGIN');
    try {
      await this.insertRaw(commit.stream, commit.batch.raw);
      await this.applyFacts(sql, commit.stream, commit.batch.applicable);
      await this.releaseStagedChildren(sql);
      await this.insertRejections(commit);
      await this.insertRestarts(commit);
      await this.saveCheckpoint(commit);
      await this.client.query('COMMIT');
    } catch (error) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private async insertRaw(stream: string, events: readonly AcceptedEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.client.query(
      `INSERT INTO raw_data.events_raw (event_offset, event_id, event_type, ts, partition_key, payload, stream_name, source_epoch, ingested_by)
       SELECT o, id, t, ts, pk, p::jsonb, $7, e, $8
       FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $9::text[]) AS u(o, id, t, ts, pk, p, e)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        ...columns(events, {
          offset: (e) => e.offset,
          id: (e) => e.eventId,
          type: (e) => e.eventType,
          ts: (e) => e.ts,
          partition: (e) => e.partitionKey,
          payload: (e) => JSON.stringify(e.payload),
        }),
        stream,
        this.ingestedBy,
        events.map((e) => String(e.epoch)),
      ],
    );
  }

  /**
   * Each processor gets its type's events in registry order (orders before their children). A child
   * whose order has not landed yet (in this batch or before) waits in staging.
   */
  private async applyFacts(sql: SqlClient, stream: string, events: readonly AcceptedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const byType = new Map<string, AcceptedEvent[]>();
    for (const event of events) {
      const list = byType.get(event.eventType);
      if (list) list.push(event);
      else byType.set(event.eventType, [event]);
    }
    for (const processor of this.processors.inOrder) {
      const ofType = byType.get(processor.eventType);
      if (!ofType) continue;
      const orderIdOf = processor.orderIdOf;
      if (!orderIdOf) {
        await processor.apply(sql, ofType);
        continue;
      }
      const orderIds = [...new Set(ofType.map((event) => orderIdOf(event.payload)))];
      const { rows } = await this.client.query<{ order_id: string }>('SELECT order_id FROM analytics.orders WHERE order_id = ANY($1::uuid[])', [orderIds]);
      const landed = new Set(rows.map((row) => row.order_id));
      const ready = ofType.filter((event) => landed.has(orderIdOf(event.payload)));
      const waiting = ofType.filter((event) => !landed.has(orderIdOf(event.payload)));
      if (ready.length > 0) await processor.apply(sql, ready);
      if (waiting.length > 0) await this.stage(stream, waiting, orderIdOf);
    }
  }

  private async stage(stream: string, events: readonly AcceptedEvent[], orderIdOf: (payload: unknown) => string): Promise<void> {
    await this.client.query(
      `INSERT INTO staging.pending_children (event_id, order_id, event_type, stream_name, source_epoch, event_offset, ts, payload)
       SELECT id, o, t, $1, e, off, ts, p::jsonb
       FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::bigint[], $7::timestamptz[], $8::text[]) AS u(id, o, t, e, off, ts, p)
       ON CONFLICT (event_id) DO NOTHING`,
      [
        stream,
        ...columns(events, {
          id: (e) => e.eventId,
          order: (e) => orderIdOf(e.payload),
          type: (e) => e.eventType,
          epoch: (e) => String(e.epoch),
          offset: (e) => e.offset,
          ts: (e) => e.ts,
          payload: (e) => JSON.stringify(e.payload),
        }),
      ],
    );
  }

  /** Children whose order has landed (from any stream, in any batch) leave staging for the facts. */
  private async releaseStagedChildren(sql: SqlClient): Promise<void> {
    const { rows } = await this.client.query<StagedChild>(
      `DELETE FROM staging.pending_children AS c USING analytics.orders AS o
       WHERE c.order_id = o.order_id
       RETURNING c.event_id, c.event_type, c.source_epoch, c.event_offset, c.ts, c.payload`,
    );
    if (rows.length === 0) return;
    for (const processor of this.processors.inOrder) {
      const released = rows
        .filter((row) => row.event_type === processor.eventType)
        .map(
          (row): AcceptedEvent => ({
            offset: Number(row.event_offset),
            epoch: Number(row.source_epoch),
            eventId: row.event_id,
            eventType: row.event_type,
            ts: row.ts.toISOString(),
            partitionKey: '',
            payload: processor.payloadSchema.parse(row.payload),
          }),
        );
      if (released.length > 0) await processor.apply(sql, released);
    }
  }

  private async insertRejections({ stream, batch }: BatchCommit): Promise<void> {
    if (batch.rejections.length === 0) return;
    await this.client.query(
      `INSERT INTO raw_data.events_rejected (stream_name, source_epoch, event_offset, event_id, raw, reason)
       SELECT $1, e, o, id, r, why FROM unnest($2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::text[]) AS u(e, o, id, r, why)
       ON CONFLICT (stream_name, source_epoch, event_offset) DO NOTHING`,
      [
        stream,
        ...columns(batch.rejections, {
          epoch: (r) => String(r.epoch),
          offset: (r) => r.offset,
          id: (r) => r.eventId,
          raw: (r) => r.raw,
          reason: (r) => r.reason,
        }),
      ],
    );
  }

  private async insertRestarts({ stream, batch }: BatchCommit): Promise<void> {
    for (const restart of batch.restarts) {
      await this.client.query(
        `INSERT INTO raw_data.source_epochs (stream_name, source_epoch, first_offset, previous_epoch, previous_offset)
         VALUES ($1, $2, 1, $3, $4) ON CONFLICT (stream_name, source_epoch) DO NOTHING`,
        [stream, String(restart.epoch), String(restart.previous.epoch), restart.previous.offset],
      );
    }
  }

  private async saveCheckpoint({ stream, batch, position, lastEventTs, sourceHeadOffset }: BatchCommit): Promise<void> {
    await this.client.query(
      `INSERT INTO raw_data.stream_checkpoints AS c
         (stream_name, event_offset, source_epoch, last_event_id, source_head_offset, source_head_seen_at, last_event_ts, last_batch_at, last_batch_size, events_total, updated_at)
       VALUES ($1, $2, $3, $4, $5::bigint, CASE WHEN $5::bigint IS NULL THEN NULL ELSE now() END, $6::timestamptz, now(), $7::int, $7::bigint, now())
       ON CONFLICT (stream_name) DO UPDATE SET
         event_offset = EXCLUDED.event_offset,
         source_epoch = EXCLUDED.source_epoch,
         last_event_id = EXCLUDED.last_event_id,
         source_head_offset = COALESCE(EXCLUDED.source_head_offset, c.source_head_offset),
         source_head_seen_at = COALESCE(EXCLUDED.source_head_seen_at, c.source_head_seen_at),
         last_event_ts = COALESCE(EXCLUDED.last_event_ts, c.last_event_ts),
         last_batch_at = EXCLUDED.last_batch_at,
         last_batch_size = EXCLUDED.last_batch_size,
         events_total = c.events_total + EXCLUDED.last_batch_size,
         updated_at = EXCLUDED.updated_at`,
      [stream, position.offset, String(position.epoch), position.lastEventId, sourceHeadOffset, lastEventTs, batch.raw.length],
    );
  }
}
