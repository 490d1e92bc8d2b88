/**
 * What a reprocess run takes and reports. Free of I/O and of Node built-ins: the workflow, the
 * activities and the CLI share it.
 */
import { z } from 'zod';

export const REPROCESS_WORKFLOW_TYPE = 'restaurantReprocess';

/** A point in the raw trail: an offset of the stream (with --stream), or an event time. */
export const reprocessBoundSchema = z.union([
  z.object({ offset: z.int().min(0) }),
  z.object({ time: z.iso.datetime({ offset: true }) }),
]);
export type ReprocessBound = z.infer<typeof reprocessBoundSchema>;

/** A keyset position in events_raw ordered by (ts, event_id); ts as PostgreSQL printed it (microseconds kept). */
export const reprocessPositionSchema = z.object({ ts: z.string().min(1), eventId: z.uuid() });
export type ReprocessPosition = z.infer<typeof reprocessPositionSchema>;

export const reprocessTotalsSchema = z.object({
  chunks: z.int().min(0),
  events: z.int().min(0),
  applied: z.int().min(0),
  skipped: z.int().min(0),
});
export type ReprocessTotals = z.infer<typeof reprocessTotalsSchema>;

export const reprocessInputSchema = z
  .object({
    from: reprocessBoundSchema,
    /** Default: the time the run started (later events are the realtime ingestion's). */
    to: reprocessBoundSchema.optional(),
    /** Only this stream's events; required for offsets. */
    stream: z.string().min(1).optional(),
    /** Events per chunk; each chunk is one transaction. */
    chunkEvents: z.int().min(1).max(20_000).default(2_000),
    /** Event time the first chunk looks ahead over (it bounds what a read scans); it adapts to the trail's density. */
    windowSeconds: z.int().min(1).max(30 * 86_400).default(300),
    // Carried across continue-as-new:
    range: z.object({ from: z.string(), to: z.string() }).optional(),
    position: reprocessPositionSchema.nullable().optional(),
    totals: reprocessTotalsSchema.optional(),
    paused: z.object({ reason: z.string(), since: z.string() }).nullable().optional(),
    startedAt: z.string().optional(),
  })
  .refine((input) => input.stream !== undefined || (!('offset' in input.from) && !(input.to && 'offset' in input.to)), {
    message: 'an offset needs a stream: offsets count within one stream',
    path: ['stream'],
  });
export type ReprocessInput = z.input<typeof reprocessInputSchema>;

export interface ReprocessRange {
  /** Inclusive and exclusive event times, as PostgreSQL printed them. */
  from: string;
  to: string;
}

export interface ReprocessChunkRequest {
  range: ReprocessRange;
  stream: string | null;
  /** Continue after this event; null: from the start of the range. */
  after: ReprocessPosition | null;
  chunkEvents: number;
  windowSeconds: number;
}

export interface ReprocessChunkResult {
  events: number;
  applied: number;
  /** Raw events whose payload the current processors reject, or whose type none handles. */
  skipped: number;
  /** Where the next chunk continues; null when the range is done. */
  next: ReprocessPosition | null;
  /** The window for the next chunk. */
  windowSeconds: number;
}

export interface ReprocessProgress {
  state: 'running' | 'paused' | 'done';
  range: ReprocessRange | null;
  stream: string | null;
  position: ReprocessPosition | null;
  totals: ReprocessTotals;
  paused: { reason: string; since: string } | null;
  startedAt: string;
}
