import type pg from 'pg';
import type { StreamPosition } from '../../contracts/ingestion.js';
import { acceptedEventOf, rawRecordOf, type Batch, type HeldEvent } from './batch.js';
import type { AcceptedEvent, ProcessorRegistry, SqlClient } from '../../processors/processor.js';
import type { Connections } from './connection-lender.js';
import { ownershipLost, SESSION_LIMITS } from './ownership.js';
import { ORDER_ROW } from '../../processors/fact-rows.js';
import { StatementPipeline } from './statement-pipeline.js';

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

function groupByType(events: readonly AcceptedEvent[]): Map<string, AcceptedEvent[]> {
  const byType = new Map<string, AcceptedEvent[]>();
  for (const event of events) {
    const list = byType.get(event.eventType);
    if (list) list.push(event);
    else byType.set(event.eventType, [event]);
  }
  return byType;
}

/*
 * The hot path sends each statement's rows as one JSON array parameter, read with jsonb_to_recordset.
 * Measured against arrays + unnest on 40,000 events in batches of 2,000: a third of the worker's CPU
 * (node-postgres escapes every array element in JavaScript; JSON.stringify is native) and faster end
 * to end, because a payload is serialised once instead of stringified and then escaped again.
 */

const RELEASE_STAGED_CHILDREN = `DELETE FROM staging.pending_children AS c USING analytics.orders AS o
       WHERE c.order_id = o.order_id
       RETURNING c.event_id, c.event_type, c.source_epoch, c.event_offset, c.ts, c.payload`;

/** How long a connection keeps its cached plans before a batch discards them. */
const PLANS_KEPT_MS = 10_000;
/** When each connection last discarded its plans (a pooled connection lives long and serves every stream). */
const plansDiscardedAt = new WeakMap<pg.ClientBase, number>();

/**
 * The statements that begin a batch's transaction on `client`, sent in one round trip: BEGIN, the
 * session's deadlines (SET LOCAL), and, every PLANS_KEPT_MS per connection, DISCARD PLANS. PostgreSQL
 * keeps the plans of foreign-key checks and trigger statements for a connection's life, re-planning only
 * when a table's statistics change: planned while a fact table was empty (a new warehouse, a truncate)
 * they scan it whole for every row until autovacuum analyzes it, a minute or more (measured: at 10M raw
 * rows, 1,400 instead of 11,000 events/s). Discarding at every batch would re-plan them for every small
 * batch of a quiet feed (measured: 1–2.5 ms of a 6–9 ms one-event batch). Through a pooler the client
 * connection is not the server's, but every server connection still gets its turn within seconds.
 */
export function batchTransactionStart(client: pg.ClientBase): string[] {
  const now = performance.now();
  const discarded = plansDiscardedAt.get(client);
  if (discarded !== undefined && now - discarded < PLANS_KEPT_MS) return ['BEGIN', SESSION_LIMITS];
  plansDiscardedAt.set(client, now);
  return ['BEGIN', SESSION_LIMITS, 'DISCARD PLANS'];
}

/**
 * Writes a session's batches, each on a connection borrowed for its transaction: the raw events, the
 * facts (through the processors), staged children, rejections, source restarts and the checkpoint.
 * The statements up to the checkpoint go out in one round trip (see statement-pipeline.ts); the
 * checkpoint and the commit follow.
 */
export class BatchWriter {
  /** Orders this writer's last committed batch inserted: their children need no lookup. */
  private landedBefore = new Set<string>();

  constructor(
    private readonly connections: Connections,
    private readonly processors: ProcessorRegistry,
    private readonly ingestedBy: string,
    /**
     * The session's owner token (see ownership.ts): a batch commits only while it still owns the stream.
     * A writer without one (a reprocess run) may only `reapply`.
     */
    private readonly ownerToken?: string,
  ) {}

  async eventExists(eventId: string, signal?: AbortSignal): Promise<boolean> {
    const { rowCount } = await this.connections.lend((client) => client.query('SELECT 1 FROM raw_data.events_raw WHERE event_id = $1', [eventId]), signal);
    return (rowCount ?? 0) > 0;
  }

  /** `signal` gives up waiting for a connection; a batch whose transaction has begun commits or rolls back whole. */
  async write(commit: BatchCommit, signal?: AbortSignal): Promise<void> {
    await this.connections.lend((client) => {
      let raw: Promise<{ rowCount: number | null } | undefined> | undefined;
      return this.applyInTransaction(client, commit.stream, commit.batch.applicable.map(acceptedEventOf), {
        first: (sql) => [(raw = this.insertRaw(sql, commit.stream, commit.batch.raw))],
        alongside: (sql) => [this.insertRejections(sql, commit), this.insertRestarts(sql, commit)],
        last: async () => this.saveCheckpoint(client, commit, (await raw)?.rowCount ?? 0),
      });
    }, signal);
  }

  /**
   * Records that the session read its source while it had nothing to commit (a commit records it too).
   * Only while this session owns the stream: a replaced one's mark matches no row.
   */
  async markRead(stream: string, signal?: AbortSignal): Promise<void> {
    await this.connections.lend(
      (client) => client.query('UPDATE raw_data.stream_checkpoints SET last_read_at = now() WHERE stream_name = $1 AND owner_token = $2', [stream, this.ownerToken]),
      signal,
    );
  }

  /** Applies events already in events_raw to the facts again (a reprocess run): no raw rows, no checkpoint. */
  async reapply(stream: string, events: readonly AcceptedEvent[]): Promise<void> {
    await this.connections.lend((client) => this.applyInTransaction(client, stream, events, {}));
  }

  /**
   * One transaction: `first` (the raw events) goes out with BEGIN, then the facts, the staging release
   * and `alongside`, pipelined in one round trip; children the release hands back; `last` (the fenced
   * checkpoint); COMMIT.
   */
  private async applyInTransaction(
    client: pg.ClientBase,
    stream: string,
    events: readonly AcceptedEvent[],
    steps: { first?: (sql: SqlClient) => Promise<unknown>[]; alongside?: (sql: SqlClient) => Promise<unknown>[]; last?: () => Promise<void> },
  ): Promise<void> {
    const sql = new StatementPipeline(client);
    const byType = groupByType(events);
    const createdHere = new Set((byType.get(ORDER_ROW.eventType) ?? []).map((event) => (event.payload as Record<string, string>)[ORDER_ROW.key]!));
    try {
      const statements: Promise<unknown>[] = [...batchTransactionStart(client).map((statement) => sql.query(statement)), ...(steps.first?.(sql) ?? [])];
      const landed = await this.landedOrders(sql, byType, createdHere);
      statements.push(...this.applyFacts(sql, stream, byType, landed));
      const released = sql.query<StagedChild>(RELEASE_STAGED_CHILDREN);
      statements.push(released, ...(steps.alongside?.(sql) ?? []));
      void sql.flush();
      await Promise.all(statements);
      const releasedRows = (await released).rows;
      if (releasedRows.length > 0) {
        const applied = this.applyReleased(sql, releasedRows);
        void sql.flush();
        await Promise.all(applied);
      }
      await steps.last?.();
      await client.query('COMMIT');
    } catch (error) {
      // Nothing of this batch may reach the connection after its ROLLBACK.
      await sql.abandon();
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    this.landedBefore = createdHere;
  }

  /** Its rowCount is how many events were new: re-ingested ones (a rewind, a retry) are not stored again. */
  private insertRaw(sql: SqlClient, stream: string, events: readonly HeldEvent[]): Promise<{ rowCount: number | null } | undefined> {
    if (events.length === 0) return Promise.resolve(undefined);
    return sql.query(
      `INSERT INTO raw_data.events_raw (event_offset, event_id, event_type, ts, partition_key, payload, stream_name, source_epoch, ingested_by)
       SELECT e."offset", e.event_id, e.event_type, e.ts, e.partition_key, e.payload, $2, e.epoch::text, $3
       FROM jsonb_to_recordset($1::jsonb) AS e("offset" bigint, event_id uuid, event_type text, ts timestamptz, partition_key text, payload jsonb, epoch int)
       ON CONFLICT (event_id) DO NOTHING`,
      [`[${events.map(rawRecordOf).join(',')}]`, stream, this.ingestedBy],
    );
  }

  /**
   * The orders the batch's children belong to that have landed: those the batch creates (inserted
   * before the children), those the previous batch committed, and those a lookup finds. The lookup,
   * the only statement whose answer the others wait for, runs only for orders not known otherwise.
   */
  private async landedOrders(sql: StatementPipeline, byType: ReadonlyMap<string, AcceptedEvent[]>, createdHere: ReadonlySet<string>): Promise<ReadonlySet<string>> {
    const unknown = new Set<string>();
    for (const processor of this.processors.inOrder) {
      const orderIdOf = processor.orderIdOf;
      if (!orderIdOf) continue;
      for (const event of byType.get(processor.eventType) ?? []) {
        const orderId = orderIdOf(event.payload);
        if (!createdHere.has(orderId) && !this.landedBefore.has(orderId)) unknown.add(orderId);
      }
    }
    const landed = new Set([...createdHere, ...this.landedBefore]);
    if (unknown.size === 0) return landed;
    const lookup = sql.query<{ order_id: string }>('SELECT order_id FROM analytics.orders WHERE order_id = ANY($1::uuid[])', [[...unknown]]);
    void sql.flush();
    for (const row of (await lookup).rows) landed.add(row.order_id);
    return landed;
  }

  /**
   * Each processor gets its type's events in registry order (orders before their children), and the
   * batch's other events (an order takes its payment's money from there). A child whose order has not
   * landed yet (in this batch or before) waits in staging.
   */
  private applyFacts(sql: SqlClient, stream: string, byType: ReadonlyMap<string, AcceptedEvent[]>, landed: ReadonlySet<string>): Promise<void>[] {
    const batch = { ofType: (eventType: string) => byType.get(eventType) ?? [] };
    const applied: Promise<void>[] = [];
    for (const processor of this.processors.inOrder) {
      const ofType = byType.get(processor.eventType);
      if (!ofType) continue;
      const orderIdOf = processor.orderIdOf;
      if (!orderIdOf) {
        applied.push(processor.apply(sql, ofType, batch));
        continue;
      }
      const ready = ofType.filter((event) => landed.has(orderIdOf(event.payload)));
      const waiting = ofType.filter((event) => !landed.has(orderIdOf(event.payload)));
      if (ready.length > 0) applied.push(processor.apply(sql, ready, batch));
      if (waiting.length > 0) applied.push(this.stage(sql, stream, waiting, orderIdOf));
    }
    return applied;
  }

  private async stage(sql: SqlClient, stream: string, events: readonly AcceptedEvent[], orderIdOf: (payload: unknown) => string): Promise<void> {
    await sql.query(
      `INSERT INTO staging.pending_children (event_id, order_id, event_type, stream_name, source_epoch, event_offset, ts, payload)
       SELECT e."eventId", e."orderId", e."eventType", $2, e.epoch::text, e."offset", e.ts, e.payload
       FROM jsonb_to_recordset($1::jsonb) AS e("eventId" uuid, "orderId" uuid, "eventType" text, epoch int, "offset" bigint, ts timestamptz, payload jsonb)
       ON CONFLICT (event_id) DO NOTHING`,
      [JSON.stringify(events.map((event) => ({ ...event, orderId: orderIdOf(event.payload) }))), stream],
    );
  }

  /** Children whose order has landed (from any stream, in any batch) leave staging for the facts. */
  private applyReleased(sql: SqlClient, rows: readonly StagedChild[]): Promise<void>[] {
    const applied: Promise<void>[] = [];
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
      if (released.length > 0) applied.push(processor.apply(sql, released));
    }
    return applied;
  }

  private async insertRejections(sql: SqlClient, { stream, batch }: BatchCommit): Promise<void> {
    if (batch.rejections.length === 0) return;
    await sql.query(
      `INSERT INTO raw_data.events_rejected (stream_name, source_epoch, event_offset, event_id, raw, reason, event_bytes)
       SELECT $2, r.epoch::text, r."offset", r."eventId", r.raw, r.reason, r.bytes
       FROM jsonb_to_recordset($1::jsonb) AS r(epoch int, "offset" bigint, "eventId" uuid, raw text, reason text, bytes bigint)
       ON CONFLICT (stream_name, source_epoch, event_offset) DO NOTHING`,
      [JSON.stringify(batch.rejections), stream],
    );
  }

  private async insertRestarts(sql: SqlClient, { stream, batch }: BatchCommit): Promise<void> {
    for (const restart of batch.restarts) {
      await sql.query(
        `INSERT INTO raw_data.source_epochs (stream_name, source_epoch, first_offset, previous_epoch, previous_offset)
         VALUES ($1, $2, 1, $3, $4) ON CONFLICT (stream_name, source_epoch) DO NOTHING`,
        [stream, String(restart.epoch), String(restart.previous.epoch), restart.previous.offset],
      );
    }
  }

  /**
   * The checkpoint moves only while this session owns the stream: a replaced session's commit (a
   * zombie) matches no row and the whole batch rolls back. `events_total` counts only the events this
   * batch actually stored, so it stays equal to the stream's rows whatever was re-ingested.
   */
  private async saveCheckpoint(client: pg.ClientBase, { stream, batch, position, lastEventTs, sourceHeadOffset }: BatchCommit, stored: number): Promise<void> {
    if (!this.ownerToken) throw new Error(`a writer that does not own stream ${stream} cannot move its checkpoint`);
    const { rowCount } = await client.query(
      `UPDATE raw_data.stream_checkpoints AS c SET
         event_offset = $2,
         source_epoch = $3,
         last_event_id = $4,
         source_head_offset = COALESCE($5::bigint, c.source_head_offset),
         source_head_seen_at = CASE WHEN $5::bigint IS NULL THEN c.source_head_seen_at ELSE now() END,
         last_event_ts = COALESCE($6::timestamptz, c.last_event_ts),
         last_batch_at = now(),
         last_read_at = now(),
         last_batch_size = $7,
         events_total = c.events_total + $8,
         updated_at = now()
       WHERE c.stream_name = $1 AND c.owner_token = $9`,
      [stream, position.offset, String(position.epoch), position.lastEventId, sourceHeadOffset, lastEventTs, batch.raw.length, stored, this.ownerToken],
    );
    if (rowCount !== 1) throw ownershipLost(stream);
  }
}
