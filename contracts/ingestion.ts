/**
 * What the ingestion workflows, their activities, the clients (CLI, `up`, the tests) and the warehouse
 * writer agree on: positions, totals, tuning and its defaults, a session's request and report, status.
 * Neutral ground: imports nothing from Temporal, so any side may use it.
 */
import { z } from 'zod';
import { sourceCredentialsSchema, type SourceCredentials } from './source-credentials.js';

export const INGEST_MODES = ['realtime', 'polling'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

export const WORKFLOW_TYPES = {
  realtime: 'restaurantRealtimeStream',
  polling: 'restaurantStreamIngestPolling',
} as const satisfies Record<IngestMode, string>;

/**
 * Stream identity. A stream is one event source with its own offsets; its name keys its checkpoint
 * row. The single feed a user gets without a streams file is `restaurant_realtime_stream` (the old
 * DAG id), read by the workflow of that id in realtime mode or `restaurant_stream_ingest_polling` in
 * polling mode, both from the same checkpoint. Every other stream has one workflow id whatever its
 * mode, `restaurant_stream:<name>`. A workflow claims its stream's checkpoint row before reading, so
 * two workflows never consume one stream at once.
 */
export const DEFAULT_STREAM = 'restaurant_realtime_stream';
export const LEGACY_POLLING_WORKFLOW_ID = 'restaurant_stream_ingest_polling';
export const STREAM_WORKFLOW_ID_PREFIX = 'restaurant_stream:';
/** Keyword search attribute naming a workflow's stream: `temporal workflow list --query "RestaurantStream='brand_a'"`. */
export const STREAM_SEARCH_ATTRIBUTE = 'RestaurantStream';
export const streamNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'lower-case letters, digits, "_", "." or "-", starting with a letter or digit, at most 63 characters');
/** Names an environment variable holding a secret; the secret itself never enters workflow history. */
export const envVarNameSchema = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'the NAME of an environment variable, e.g. BRAND_A_API_TOKEN');

/** Batch and session limits. The one set of defaults: the environment's INGEST_* settings default to these. */
export const DEFAULT_TUNING = {
  /** Most events written in one transaction. */
  maxBatchEvents: 2_000,
  /** Longest an event waits in memory before its batch is written. */
  maxBatchWaitMs: 25,
  /**
   * One consume activity runs this long before handing its offset back to the workflow. Each session
   * costs a few Temporal actions and a claim of the stream: at 10 s, 200 quiet feeds meant 20 session
   * turnovers a second. A deploy does not wait for it (a stopping worker ends its sessions at the next batch).
   */
  sessionSeconds: 60,
  /** Polling mode: time between polls. */
  pollIntervalSeconds: 120,
  /** Polling mode: events asked for per `/events` page (the source serves at most 5,000). */
  pageSize: 5_000,
} as const;

/**
 * What one read from the source may cost the worker (its memory is the worker's concern, so these are
 * worker settings: INGEST_MAX_EVENT_BYTES, INGEST_MAX_PAGE_BYTES).
 */
export const DEFAULT_SOURCE_LIMITS = {
  /** Largest SSE event read; a larger one is recorded in events_rejected with its size and first bytes, and skipped. */
  maxEventBytes: 1024 * 1024,
  /** Largest `/events` body read; a page over it is asked again smaller, down to one event, which is then rejected. */
  maxPageBytes: 32 * 1024 * 1024,
} as const;
export type SourceLimits = { maxEventBytes: number; maxPageBytes: number };

const positiveInt = z.number().int().positive();

export const ingestionTuningSchema = z.object({
  maxBatchEvents: positiveInt,
  maxBatchWaitMs: positiveInt,
  sessionSeconds: positiveInt,
  pollIntervalSeconds: positiveInt,
  pageSize: positiveInt.max(5_000),
});
export type IngestionTuning = z.infer<typeof ingestionTuningSchema>;

export const streamPositionSchema = z.object({
  /** Last source offset whose batch has committed (0 = nothing yet). */
  offset: z.number().int().min(0),
  /** Incremented each time the source is found to have restarted (its offsets went backwards). */
  epoch: z.number().int().positive(),
  /** event_id at `offset`, used to recognise a restarted source; null when unknown. */
  lastEventId: z.string().nullable(),
});
export type StreamPosition = z.infer<typeof streamPositionSchema>;

export const ingestionTotalsSchema = z.object({
  events: z.number(),
  byType: z.record(z.string(), z.number()),
  rejected: z.number(),
  duplicatesSkipped: z.number(),
  gapsFilled: z.number(),
  eventsLostAtSource: z.number(),
  sourceRestarts: z.number(),
  batches: z.number(),
  sessions: z.number(),
});
export type IngestionTotals = z.infer<typeof ingestionTotalsSchema>;

export const emptyTotals = (): IngestionTotals => ({
  events: 0,
  byType: {},
  rejected: 0,
  duplicatesSkipped: 0,
  gapsFilled: 0,
  eventsLostAtSource: 0,
  sourceRestarts: 0,
  batches: 0,
  sessions: 0,
});

export const pauseStateSchema = z.object({ reason: z.string(), since: z.string() });
export type PauseState = z.infer<typeof pauseStateSchema>;

/**
 * A workflow's input, as typed into the Web UI's *Start Workflow* form or sent by a client. Checked
 * when the workflow starts: a wrong input fails the workflow at once, naming the field.
 */
export const streamIngestionInputSchema = z.strictObject({
  /** Stream name: the key of the checkpoint row; defaults to the workflow id (`restaurant_realtime_stream` for the polling workflow of that feed). */
  stream: z.string().min(1).max(200).optional(),
  sourceUrl: z.url({ protocol: /^https?$/, error: 'an http(s) URL of the event source, e.g. http://127.0.0.1:8000' }),
  /** Carried over continue-as-new; a new workflow starts from the warehouse checkpoint instead. */
  position: streamPositionSchema.optional(),
  /** `ingest start --from N`: move the checkpoint to N before the first session. */
  startFrom: z.number().int().min(0).optional(),
  paused: pauseStateSchema.nullable().optional(),
  totals: ingestionTotalsSchema.optional(),
  tuning: ingestionTuningSchema.partial().optional(),
  /** Names of the worker's environment variables holding the source's token or headers (never the secrets). */
  sourceCredentials: sourceCredentialsSchema.optional(),
  /** Carried over continue-as-new so status stays continuous. */
  startedAt: z.string().optional(),
  runsSoFar: z.number().int().min(0).optional(),
});
export type StreamIngestionInput = z.input<typeof streamIngestionInputSchema>;

export interface IngestionError {
  message: string;
  at: string;
}

export interface IngestionStatus {
  workflowId: string;
  mode: IngestMode;
  stream: string;
  sourceUrl: string;
  state: 'consuming' | 'paused' | 'waiting for next poll' | 'recovering';
  position: StreamPosition;
  paused: PauseState | null;
  /** Events per second over the last finished session. */
  eventsPerSecond: number;
  totals: IngestionTotals;
  lag: { events: number | null; seconds: number | null; sourceHeadOffset: number | null };
  lastBatchAt: string | null;
  lastSessionEndedAt: string | null;
  lastError: IngestionError | null;
  startedAt: string;
  /** How many workflow runs (continue-as-new) this stream has gone through. */
  runs: number;
  tuning: IngestionTuning;
}

/**
 * A stream counts as read while its last read is at most this old: a running session reads a quiet
 * source at least every second or two. `analytics.ingestion_status` (migrations/0018) uses the same bound.
 */
export const UNREAD_AFTER_SECONDS = 5;

/**
 * A running session's heartbeat reaches Temporal at most this often (the worker's throttle): the read
 * time Temporal holds for it may be that much older than its last read.
 */
export const SESSION_HEARTBEAT_THROTTLE_SECONDS = 3;

/** When a running session last read its source and last committed: in its heartbeat, for `ingest status`. */
export interface SessionActivityTimes {
  lastReadAt?: string;
  lastCommittedAt?: string;
}

/** A stream's reading as it stands when asked, from its workflow's pending work; ages are relative to `asOf`. */
export interface StreamReading {
  asOf: string;
  lastReadAt: string | null;
  secondsSinceLastRead: number | null;
  lastCommittedAt: string | null;
  secondsSinceLastCommit: number | null;
  /** No session runs the stream: its next session (or the workflow's next step) has waited for a worker since then. */
  waitingForWorkerSince: string | null;
  /** The session running now, if one is. */
  session: { activity: string; worker: string; startedAt: string | null; attempt: number } | null;
}

export type StreamState = IngestionStatus['state'] | 'waiting for a worker' | 'not reading' | 'not answering';

interface StreamStatusCommon {
  workflowId: string;
  mode: IngestMode;
  stream: string;
  state: StreamState;
  reading: StreamReading;
}

/**
 * `ingest status`: the workflow's own status with its state and lag taken from the facts at the time
 * asked (the workflow only knows its last session's report); or, when no worker could run its status
 * query (none polls its task queue), what Temporal itself tells, and why the rest is missing.
 */
export type StreamStatus =
  | (StreamStatusCommon & Omit<IngestionStatus, keyof StreamStatusCommon> & { unanswered?: undefined })
  | (StreamStatusCommon & { unanswered: string });

export interface RewindRequest {
  offset: number;
  /** Source epoch to rewind into; defaults to the current one. */
  epoch?: number;
}

export interface RewindResult {
  previous: StreamPosition;
  position: StreamPosition;
}

/** What a workflow asks one consume or poll session to do. Events never travel through workflow history. */
export interface SessionRequest {
  stream: string;
  sourceUrl: string;
  position: StreamPosition;
  maxBatchEvents: number;
  maxBatchWaitMs: number;
  /** The session hands back its position after this long (a poll session ends earlier, once caught up). */
  sessionSeconds: number;
  pageSize: number;
  /** Where the worker finds the source's credentials; absent: RESTAURANT_API_TOKEN and RESTAURANT_API_HEADERS. */
  credentials?: SourceCredentials;
}

export type SessionCounts = Omit<IngestionTotals, 'sessions'>;

export interface SessionReport extends SessionCounts {
  /** The last committed position. */
  position: StreamPosition;
  startedAt: string;
  endedAt: string;
  lastBatchAt: string | null;
  /** `ts` of the newest event committed, for lag in seconds. */
  lastEventTs: string | null;
  sourceHeadOffset: number | null;
  /** Polling: the last page was short, so there is nothing more to fetch now. */
  caughtUp: boolean;
}

export interface CheckpointRewind {
  stream: string;
  offset: number;
  epoch: number;
}

/** A workflow asking to be its stream's only consumer. */
export interface StreamClaimRequest {
  stream: string;
  workflowId: string;
  mode: IngestMode;
}

export interface StreamClaimResult {
  /** null when the claim is ours; else the running workflow that holds the stream. */
  heldBy: string | null;
  /** Whether the namespace knows the RestaurantStream search attribute (it may be set then). */
  searchAttribute: boolean;
}
