import type pg from 'pg';
import type { StreamPosition } from '../../contracts/ingestion.js';
import { acceptedEventOf, rawRecordOf, type Batch } from './batch.js';
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

/** A commit fenced by the owner token of the session that read it (see ownership.ts). */
interface OwnedCommit extends BatchCommit {
  ownerToken: string;
}

/** What a session writes through: its commits and read marks, fenced by its owner token. */
export interface StreamWriter {
  /** `signal` gives up waiting for a turn; a batch whose transaction has begun commits or rolls back whole. */
  write(commit: BatchCommit, signal?: AbortSignal): Promise<void>;
  markRead(stream: string, signal?: AbortSignal): Promise<void>;
  eventExists(eventId: string, signal?: AbortSignal): Promise<boolean>;
}

/** An applicable event and the stream it came from (staged children keep their stream). */
type StreamEvent = AcceptedEvent & { readonly stream: string };

interface StagedChild extends Record<string, unknown> {
  event_id: string;
  event_type: string;
  source_epoch: string;
  event_offset: string;
  ts: Date;
  payload: unknown;
}

interface QueuedCommit {
  readonly commit: OwnedCommit;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Stops listening to the commit's signal once it has a turn or has given up. */
  readonly settled: () => void;
}

function groupByType(events: readonly StreamEvent[]): Map<string, StreamEvent[]> {
  const byType = new Map<string, StreamEvent[]>();
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

/** How a writer groups the batches of the streams it serves (see BatchWriter). */
export interface CommitGrouping {
  /** Transactions in flight at once. */
  readonly transactions: number;
  /** A transaction takes waiting batches up to this many events together (a larger batch goes alone). */
  readonly events: number;
}

export const DEFAULT_COMMIT_GROUPING: CommitGrouping = { transactions: 2, events: 10_000 };

/**
 * Writes batches, each with its raw events, facts (through the processors), staged children,
 * rejections, source restarts and fenced checkpoint, in one transaction on a borrowed connection.
 *
 * One writer serves every session of a worker and commits their batches together: at most
 * `transactions` are in flight, and a batch that arrives meanwhile waits for the next, which takes
 * every batch then waiting. A stream's batch is still written whole with its checkpoint or not at all;
 * what changes is that a hundred quiet feeds' one-event batches cost one transaction instead of a
 * hundred (each transaction costs the worker and PostgreSQL ~1–2 ms of CPU whatever its size, which at
 * 1,000 events/s of quiet feeds was more than the machine had). A batch whose stream another session
 * owns now fails alone (the rest commit without it); any other failure writes the group's batches
 * one by one, so a batch's error is its own.
 */
export class BatchWriter {
  /** Orders the last committed transaction inserted: their children need no lookup. */
  private landedBefore = new Set<string>();
  private readonly waiting: QueuedCommit[] = [];
  private transactions = 0;

  constructor(
    private readonly connections: Connections,
    private readonly processors: ProcessorRegistry,
    private readonly ingestedBy: string,
    private readonly grouping: CommitGrouping = DEFAULT_COMMIT_GROUPING,
  ) {}

  /** The writer as one session uses it: its commits move the checkpoint only while `ownerToken` owns the stream. */
  forOwner(ownerToken: string): StreamWriter {
    return {
      write: (commit, signal) => this.write({ ...commit, ownerToken }, signal),
      markRead: (stream, signal) => this.markRead(stream, ownerToken, signal),
      eventExists: (eventId, signal) => this.eventExists(eventId, signal),
    };
  }

  async eventExists(eventId: string, signal?: AbortSignal): Promise<boolean> {
    const { rowCount } = await this.connections.lend((client) => client.query('SELECT 1 FROM raw_data.events_raw WHERE event_id = $1', [eventId]), signal);
    return (rowCount ?? 0) > 0;
  }

  /**
   * Records that the session read its source while it had nothing to commit (a commit records it too).
   * Only while this session owns the stream: a replaced one's mark matches no row.
   */
  private async markRead(stream: string, ownerToken: string, signal?: AbortSignal): Promise<void> {
    await this.connections.lend(
      (client) => client.query('UPDATE raw_data.stream_checkpoints SET last_read_at = now() WHERE stream_name = $1 AND owner_token = $2', [stream, ownerToken]),
      signal,
    );
  }

  private write(commit: OwnedCommit, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('gave up waiting to write a batch'));
    return new Promise<void>((resolve, reject) => {
      const giveUp = () => {
        const at = this.waiting.indexOf(queued);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error('gave up waiting to write a batch'));
      };
      const queued: QueuedCommit = { commit, resolve, reject, settled: () => signal?.removeEventListener('abort', giveUp) };
      signal?.addEventListener('abort', giveUp, { once: true });
      this.waiting.push(queued);
      this.startTransactions();
    });
  }

  /** Starts a transaction while fewer than `grouping.transactions` run and batches wait. */
  private startTransactions(): void {
    while (this.transactions < Math.min(this.grouping.transactions, this.connections.limit) && this.waiting.length > 0) {
      this.transactions += 1;
      // The group is taken once the connection is there: batches arriving meanwhile join it. Without a
      // connection (PostgreSQL unreachable) the group fails, and its sessions are retried by Temporal.
      let taken = false;
      void this.connections
        .lend((client) => ((taken = true), this.writeGroup(client, this.takeGroup())))
        .catch((error: unknown) => {
          if (!taken) for (const queued of this.takeGroup()) queued.reject(error);
        })
        .finally(() => {
          this.transactions -= 1;
          this.startTransactions();
        });
    }
  }

  private takeGroup(): QueuedCommit[] {
    const group: QueuedCommit[] = [];
    let events = 0;
    while (this.waiting.length > 0) {
      const size = this.waiting[0]!.commit.batch.size;
      if (group.length > 0 && events + size > this.grouping.events) break;
      events += size;
      group.push(this.waiting.shift()!);
    }
    for (const queued of group) queued.settled();
    return group;
  }

  /**
   * Commits the group. Batches of sessions that no longer own their stream fail, and the rest are
   * written again without them. Any other failure that leaves the connection usable writes the batches
   * one by one; one that does not (the rollback failed too) fails them all, and the lender discards
   * the connection.
   */
  private async writeGroup(client: pg.ClientBase, group: readonly QueuedCommit[]): Promise<void> {
    let pending = group;
    try {
      while (pending.length > 0) {
        const lost = await this.commitTogether(client, pending.map((queued) => queued.commit));
        for (const queued of pending) {
          if (lost.has(queued.commit.ownerToken)) queued.reject(ownershipLost(queued.commit.stream));
          else if (lost.size === 0) queued.resolve();
        }
        pending = lost.size === 0 ? [] : pending.filter((queued) => !lost.has(queued.commit.ownerToken));
      }
    } catch (error) {
      if (error instanceof TransactionFailed && pending.length > 1) return this.writeOneByOne(client, pending);
      for (const queued of pending) queued.reject(error instanceof TransactionFailed ? error.cause : error);
      if (!(error instanceof TransactionFailed)) throw error;
    }
  }

  /** Each batch as a group of its own; once the connection is unusable, the rest fail with its error. */
  private async writeOneByOne(client: pg.ClientBase, group: readonly QueuedCommit[]): Promise<void> {
    for (const [at, queued] of group.entries()) {
      await this.writeGroup(client, [queued]).catch((error: unknown) => {
        for (const rest of group.slice(at + 1)) rest.reject(error);
        throw error;
      });
    }
  }

  /**
   * One transaction for `commits`: committed whole, or rolled back whole when some commit's session no
   * longer owns its stream (its owner token comes back, nothing is written).
   */
  private async commitTogether(client: pg.ClientBase, commits: readonly OwnedCommit[]): Promise<Set<string>> {
    let raw: Promise<{ rows: Array<{ stream_name: string; stored: number }> }> = Promise.resolve({ rows: [] });
    let lost = new Set<string>();
    const events = commits.flatMap(({ stream, batch }) => batch.applicable.map((held): StreamEvent => ({ ...acceptedEventOf(held), stream })));
    await this.applyInTransaction(client, events, {
      first: (sql) => [(raw = this.insertRaw(sql, commits))],
      alongside: (sql) => [this.insertRejections(sql, commits), this.insertRestarts(sql, commits)],
      last: async () => {
        lost = await this.saveCheckpoints(client, commits, (await raw).rows);
        return lost.size === 0;
      },
    });
    return lost;
  }

  /** Applies events already in events_raw to the facts again (a reprocess run): no raw rows, no checkpoint. */
  async reapply(stream: string, events: readonly AcceptedEvent[]): Promise<void> {
    await this.connections.lend((client) =>
      this.applyInTransaction(
        client,
        events.map((event) => ({ ...event, stream })),
        {},
      ),
    );
  }

  /**
   * One transaction: `first` (the raw events) goes out with BEGIN, then the facts, the staging release
   * and `alongside`, pipelined in one round trip; children the release hands back; `last` (the fenced
   * checkpoints), which says whether to COMMIT or roll back. A failure is a TransactionFailed once the
   * transaction is rolled back; if the rollback fails too, the connection's own error.
   */
  private async applyInTransaction(
    client: pg.ClientBase,
    events: readonly StreamEvent[],
    steps: { first?: (sql: SqlClient) => Promise<unknown>[]; alongside?: (sql: SqlClient) => Promise<unknown>[]; last?: () => Promise<boolean> },
  ): Promise<void> {
    const sql = new StatementPipeline(client);
    const byType = groupByType(events);
    const createdHere = new Set((byType.get(ORDER_ROW.eventType) ?? []).map((event) => (event.payload as Record<string, string>)[ORDER_ROW.key]!));
    try {
      const statements: Promise<unknown>[] = [...batchTransactionStart(client).map((statement) => sql.query(statement)), ...(steps.first?.(sql) ?? [])];
      const landed = await this.landedOrders(sql, byType, createdHere);
      statements.push(...this.applyFacts(sql, byType, landed));
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
      if ((await steps.last?.()) === false) {
        await client.query('ROLLBACK');
        return;
      }
      await client.query('COMMIT');
    } catch (error) {
      // Nothing of this transaction may reach the connection after its ROLLBACK.
      await sql.abandon();
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      throw rolledBack ? new TransactionFailed(error) : error;
    }
    this.landedBefore = createdHere;
  }

  /**
   * Per stream, how many of its events were new: re-ingested ones (a rewind, a retry) are not stored
   * again. One stream's count is the statement's own (the busy feed's case: no row comes back per event).
   */
  private insertRaw(sql: SqlClient, commits: readonly OwnedCommit[]): Promise<{ rows: Array<{ stream_name: string; stored: number }> }> {
    const records = commits.flatMap(({ stream, batch }) => batch.raw.map((held) => rawRecordOf(held, stream)));
    if (records.length === 0) return Promise.resolve({ rows: [] });
    const insert = `INSERT INTO raw_data.events_raw (event_offset, event_id, event_type, ts, partition_key, payload, stream_name, source_epoch, ingested_by)
       SELECT e."offset", e.event_id, e.event_type, e.ts, e.partition_key, e.payload, e.stream_name, e.epoch::text, $2
       FROM jsonb_to_recordset($1::jsonb) AS e("offset" bigint, event_id uuid, event_type text, ts timestamptz, partition_key text, payload jsonb, epoch int, stream_name text)
       ON CONFLICT (event_id) DO NOTHING`;
    const values = [`[${records.join(',')}]`, this.ingestedBy];
    if (commits.length === 1) return sql.query(insert, values).then(({ rowCount }) => ({ rows: [{ stream_name: commits[0]!.stream, stored: rowCount ?? 0 }] }));
    return sql.query(`WITH stored AS (${insert} RETURNING stream_name) SELECT stream_name, count(*)::int AS stored FROM stored GROUP BY stream_name`, values);
  }

  /**
   * The orders the batch's children belong to that have landed: those the batch creates (inserted
   * before the children), those the previous transaction committed, and those a lookup finds. The lookup,
   * the only statement whose answer the others wait for, runs only for orders not known otherwise.
   */
  private async landedOrders(sql: StatementPipeline, byType: ReadonlyMap<string, StreamEvent[]>, createdHere: ReadonlySet<string>): Promise<ReadonlySet<string>> {
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
   * transaction's other events (an order takes its payment's money from there). A child whose order
   * has not landed yet (in this transaction or before) waits in staging.
   */
  private applyFacts(sql: SqlClient, byType: ReadonlyMap<string, StreamEvent[]>, landed: ReadonlySet<string>): Promise<void>[] {
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
      if (waiting.length > 0) applied.push(this.stage(sql, waiting, orderIdOf));
    }
    return applied;
  }

  private async stage(sql: SqlClient, events: readonly StreamEvent[], orderIdOf: (payload: unknown) => string): Promise<void> {
    await sql.query(
      `INSERT INTO staging.pending_children (event_id, order_id, event_type, stream_name, source_epoch, event_offset, ts, payload)
       SELECT e."eventId", e."orderId", e."eventType", e.stream, e.epoch::text, e."offset", e.ts, e.payload
       FROM jsonb_to_recordset($1::jsonb) AS e("eventId" uuid, "orderId" uuid, "eventType" text, stream text, epoch int, "offset" bigint, ts timestamptz, payload jsonb)
       ON CONFLICT (event_id) DO NOTHING`,
      [JSON.stringify(events.map((event) => ({ ...event, orderId: orderIdOf(event.payload) })))],
    );
  }

  /** Children whose order has landed (from any stream, in any transaction) leave staging for the facts. */
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

  private async insertRejections(sql: SqlClient, commits: readonly OwnedCommit[]): Promise<void> {
    const rejections = commits.flatMap(({ stream, batch }) => batch.rejections.map((rejection) => ({ ...rejection, stream })));
    if (rejections.length === 0) return;
    await sql.query(
      `INSERT INTO raw_data.events_rejected (stream_name, source_epoch, event_offset, event_id, raw, reason, event_bytes)
       SELECT r.stream, r.epoch::text, r."offset", r."eventId", r.raw, r.reason, r.bytes
       FROM jsonb_to_recordset($1::jsonb) AS r(stream text, epoch int, "offset" bigint, "eventId" uuid, raw text, reason text, bytes bigint)
       ON CONFLICT (stream_name, source_epoch, event_offset) DO NOTHING`,
      [JSON.stringify(rejections)],
    );
  }

  private async insertRestarts(sql: SqlClient, commits: readonly OwnedCommit[]): Promise<void> {
    for (const { stream, batch } of commits) {
      for (const restart of batch.restarts) {
        await sql.query(
          `INSERT INTO raw_data.source_epochs (stream_name, source_epoch, first_offset, previous_epoch, previous_offset)
           VALUES ($1, $2, 1, $3, $4) ON CONFLICT (stream_name, source_epoch) DO NOTHING`,
          [stream, String(restart.epoch), String(restart.previous.epoch), restart.previous.offset],
        );
      }
    }
  }

  /**
   * Each checkpoint moves only while its session owns the stream: a replaced session's commit (a
   * zombie) matches no row. Returns the owner tokens that matched none (the caller then rolls back).
   * `events_total` counts only the events a batch actually stored, so it stays equal to the stream's rows
   * whatever was re-ingested.
   */
  private async saveCheckpoints(client: pg.ClientBase, commits: readonly OwnedCommit[], stored: ReadonlyArray<{ stream_name: string; stored: number }>): Promise<Set<string>> {
    const storedBy = new Map(stored.map((row) => [row.stream_name, row.stored]));
    const checkpoints = commits.map(({ stream, batch, position, lastEventTs, sourceHeadOffset, ownerToken }) => ({
      stream,
      owner_token: ownerToken,
      offset: position.offset,
      epoch: String(position.epoch),
      last_event_id: position.lastEventId,
      head: sourceHeadOffset,
      last_event_ts: lastEventTs,
      batch_size: batch.raw.length,
      stored: storedBy.get(stream) ?? 0,
    }));
    const { rows } = await client.query<{ owner_token: string }>(
      `UPDATE raw_data.stream_checkpoints AS c SET
         event_offset = v."offset",
         source_epoch = v.epoch,
         last_event_id = v.last_event_id,
         source_head_offset = COALESCE(v.head, c.source_head_offset),
         source_head_seen_at = CASE WHEN v.head IS NULL THEN c.source_head_seen_at ELSE now() END,
         last_event_ts = COALESCE(v.last_event_ts, c.last_event_ts),
         last_batch_at = now(),
         last_read_at = now(),
         last_batch_size = v.batch_size,
         events_total = c.events_total + v.stored,
         updated_at = now()
       FROM jsonb_to_recordset($1::jsonb) AS v(stream text, owner_token text, "offset" bigint, epoch text, last_event_id uuid, head bigint, last_event_ts timestamptz, batch_size integer, stored bigint)
       WHERE c.stream_name = v.stream AND c.owner_token = v.owner_token
       RETURNING c.owner_token`,
      [JSON.stringify(checkpoints)],
    );
    const matched = new Set(rows.map((row) => row.owner_token));
    return new Set(commits.map((commit) => commit.ownerToken).filter((token) => !matched.has(token)));
  }
}

/** A transaction that failed and was rolled back: its connection can serve again. */
class TransactionFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('the transaction was rolled back');
  }
}
