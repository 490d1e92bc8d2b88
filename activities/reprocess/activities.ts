import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import type { ReprocessBound, ReprocessChunkRequest, ReprocessChunkResult, ReprocessRange } from '../../contracts/reprocess.js';
import type { AcceptedEvent, ProcessorRegistry } from '../../processors/processor.js';
import { BatchWriter } from '../warehouse/batch-writer.js';
import { ConnectionLender } from '../warehouse/connection-lender.js';

interface RawEventRow extends Record<string, unknown> {
  event_offset: string;
  event_id: string;
  event_type: string;
  ts: string;
  partition_key: string | null;
  payload: unknown;
  source_epoch: string;
}

/** The smallest uuid: a position at a window's end takes every event of that time. */
const BEFORE_ANY_EVENT = '00000000-0000-0000-0000-000000000000';
const MAX_WINDOW_SECONDS = 30 * 86_400;

/**
 * The reprocess run's activities: re-derive facts (and, through their triggers, the rollups) from
 * raw_data.events_raw with the worker's current processors, one chunk per transaction. Writes are the
 * processors' own idempotent upserts, so a chunk applied twice, or alongside realtime ingestion,
 * changes the facts once.
 */
export function createReprocessActivities(deps: { db: pg.Pool; processors: ProcessorRegistry; workerIdentity: string }) {
  async function timeOf(bound: ReprocessBound, stream: string | null): Promise<string> {
    if ('time' in bound) {
      const { rows } = await deps.db.query<{ ts: string }>('SELECT to_jsonb($1::timestamptz) #>> \'{}\' AS ts', [bound.time]);
      return rows[0]!.ts;
    }
    const { rows } = await deps.db.query<{ ts: string }>(
      `SELECT to_jsonb(ts) #>> '{}' AS ts FROM raw_data.events_raw
       WHERE stream_name = $1 AND event_offset = $2 ORDER BY source_epoch::bigint DESC LIMIT 1`,
      [stream, bound.offset],
    );
    if (!rows[0]) {
      throw ApplicationFailure.nonRetryable(`offset ${bound.offset} of stream ${stream} is not in raw_data.events_raw (never ingested, or past raw retention)`, 'ReprocessRangeError');
    }
    return rows[0].ts;
  }

  return {
    async resolveReprocessRange(request: { from: ReprocessBound; to?: ReprocessBound; stream: string | null }): Promise<ReprocessRange> {
      const from = await timeOf(request.from, request.stream);
      // An offset bound includes its own event: the range ends just after it.
      const to = request.to
        ? 'offset' in request.to
          ? (await deps.db.query<{ ts: string }>("SELECT to_jsonb($1::timestamptz + interval '1 microsecond') #>> '{}' AS ts", [await timeOf(request.to, request.stream)])).rows[0]!.ts
          : await timeOf(request.to, request.stream)
        : (await deps.db.query<{ ts: string }>("SELECT to_jsonb(now()) #>> '{}' AS ts")).rows[0]!.ts;
      const { rows } = await deps.db.query<{ ordered: boolean }>('SELECT $1::timestamptz < $2::timestamptz AS ordered', [from, to]);
      if (!rows[0]!.ordered) throw ApplicationFailure.nonRetryable(`reprocess range is empty: from ${from} is not before to ${to}`, 'ReprocessRangeError');
      return { from, to };
    },

    async reprocessChunk(request: ReprocessChunkRequest): Promise<ReprocessChunkResult> {
      const after = request.after ?? { ts: request.range.from, eventId: BEFORE_ANY_EVENT };
      const { rows: window } = await deps.db.query<{ end: string; last: boolean }>(
        `SELECT to_jsonb(least($1::timestamptz + make_interval(secs => $2), $3::timestamptz)) #>> '{}' AS end,
                $1::timestamptz + make_interval(secs => $2) >= $3::timestamptz AS last`,
        [after.ts, request.windowSeconds, request.range.to],
      );
      const { end: windowEnd, last: lastWindow } = window[0]!;
      const { rows } = await deps.db.query<RawEventRow>(
        `SELECT event_offset, event_id, event_type, to_jsonb(ts) #>> '{}' AS ts, partition_key, payload, source_epoch
         FROM raw_data.events_raw
         WHERE ts >= $1::timestamptz AND ts < $3::timestamptz
           AND (ts, event_id) > ($1::timestamptz, $2::uuid)
           AND ($4::text IS NULL OR stream_name = $4)
         ORDER BY ts, event_id
         LIMIT $5`,
        [after.ts, after.eventId, windowEnd, request.stream, request.chunkEvents],
      );
      const events: AcceptedEvent[] = [];
      for (const row of rows) {
        // The envelope passed validation when it was stored; the payload is judged by today's processor.
        const parsed = deps.processors.get(row.event_type)?.payloadSchema.safeParse(row.payload);
        if (!parsed?.success) continue;
        events.push({
          offset: Number(row.event_offset),
          epoch: Number(row.source_epoch),
          eventId: row.event_id,
          eventType: row.event_type,
          ts: row.ts,
          partitionKey: row.partition_key ?? '',
          payload: parsed.data,
        });
      }
      if (events.length > 0) {
        await new BatchWriter(new ConnectionLender(deps.db, 1), deps.processors, deps.workerIdentity).reapply(request.stream ?? 'reprocess', events);
      }
      Context.current().heartbeat();
      const full = rows.length === request.chunkEvents;
      const last = rows.at(-1);
      const next = full && last ? { ts: last.ts, eventId: last.event_id } : lastWindow ? null : { ts: windowEnd, eventId: BEFORE_ANY_EVENT };
      // The window adapts to the density of the trail: a sparse stretch (a quiet night, months between
      // two ranges of a simulated source) is crossed in a few reads, a dense one read in bounded slices.
      const windowSeconds = full ? Math.max(1, Math.floor(request.windowSeconds / 2)) : rows.length < request.chunkEvents / 2 ? Math.min(MAX_WINDOW_SECONDS, request.windowSeconds * 2) : request.windowSeconds;
      return { events: rows.length, applied: events.length, skipped: rows.length - events.length, next, windowSeconds };
    },
  };
}
