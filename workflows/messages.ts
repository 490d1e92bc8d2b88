/**
 * Everything a client may say to or ask of an ingestion workflow, shared by the workflows, the CLI,
 * `restaurant-stack up` and the tests. Also usable by name from the `temporal` CLI and the Web UI.
 */
import type { ReprocessProgress } from './reprocess-input.js';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export const INGEST_MODES = ['realtime', 'polling'] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

export const WORKFLOW_TYPES = {
  realtime: 'restaurantRealtimeStream',
  polling: 'restaurantStreamIngestPolling',
} as const satisfies Record<IngestMode, string>;

export const MAINTENANCE_WORKFLOW_TYPE = 'restaurantMaintenance';

export interface MaintenanceInput {
  retentionDays: number;
  retentionChunkRows: number;
  retentionMaxChunks: number;
}

/** Batch and session limits; every field has a default in the workflow. */
export interface IngestionTuning {
  /** Most events written in one transaction. */
  maxBatchEvents: number;
  /** Longest an event waits in memory before its batch is written. */
  maxBatchWaitMs: number;
  /** One consume activity runs this long before handing its offset back to the workflow. */
  sessionSeconds: number;
  /** Polling mode: time between polls. */
  pollIntervalSeconds: number;
  /** Polling mode: events asked for per `/events` page. */
  pageSize: number;
}

export interface IngestionTotals {
  events: number;
  byType: Record<string, number>;
  rejected: number;
  duplicatesSkipped: number;
  gapsFilled: number;
  eventsLostAtSource: number;
  sourceRestarts: number;
  batches: number;
  sessions: number;
}

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

export interface StreamPosition {
  /** Last source offset whose batch has committed (0 = nothing yet). */
  offset: number;
  /** Incremented each time the source is found to have restarted (its offsets went backwards). */
  epoch: number;
  /** event_id at `offset`, used to recognise a restarted source; null when unknown. */
  lastEventId: string | null;
}

export interface PauseState {
  reason: string;
  since: string;
}

export interface StreamIngestionInput {
  /** Stream name: the key of the checkpoint row; defaults to the workflow id. */
  stream?: string;
  sourceUrl: string;
  /** Carried over continue-as-new; a new workflow starts from the warehouse checkpoint instead. */
  position?: StreamPosition;
  /** `ingest start --from N`: move the checkpoint to N before the first session. */
  startFrom?: number;
  paused?: PauseState | null;
  totals?: IngestionTotals;
  tuning?: Partial<IngestionTuning>;
  /** Carried over continue-as-new so status stays continuous. */
  startedAt?: string;
  runsSoFar?: number;
}

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

export interface RewindRequest {
  offset: number;
  /** Source epoch to rewind into; defaults to the current one. */
  epoch?: number;
}

export interface RewindResult {
  previous: StreamPosition;
  position: StreamPosition;
}

export const pauseSignal = defineSignal<[{ reason?: string }?]>('pause');
export const resumeSignal = defineSignal<[{ reason?: string }?]>('resume');
export const pollNowSignal = defineSignal('pollNow');
export const statusQuery = defineQuery<IngestionStatus>('status');
export const rewindUpdate = defineUpdate<RewindResult, [RewindRequest]>('rewind');

export const MESSAGE_DESCRIPTIONS = {
  pause: 'Pause ingestion within a second: cancels the in-flight consume (no half batch is written). Optional input: {"reason": "…"}.',
  resume: 'Resume ingestion from the last committed offset. Optional input: {"reason": "…"}.',
  pollNow: 'Polling mode: poll the source now instead of waiting for the next interval.',
  status: 'Offset, epoch, paused and why, events/s, totals by type, rejected, lag behind the source head, last batch, last error.',
  rewind: 'Move the checkpoint to {"offset": N} (and optionally "epoch") and re-ingest from there; writes are idempotent.',
} as const;

export const REPROCESS_WORKFLOW_TYPE = 'restaurantReprocess';
export const reprocessProgressQuery = defineQuery<ReprocessProgress>('progress');
export const REPROCESS_MESSAGE_DESCRIPTIONS = {
  pause: 'Pause the reprocess run after the chunk in flight (each chunk is one transaction). Optional input: {"reason": "…"}.',
  resume: 'Resume the reprocess run from where it paused.',
  progress: 'Range, position (event time and id), chunks, events read, applied and skipped, paused and why.',
} as const;
