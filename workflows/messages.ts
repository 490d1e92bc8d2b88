/**
 * Everything a client may say to or ask of an ingestion workflow, shared by the workflows, the CLI,
 * `restaurant-stack up` and the tests. Also usable by name from the `temporal` CLI and the Web UI.
 */
import type { ReprocessProgress } from '../contracts/reprocess.js';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IngestionStatus, RewindRequest, RewindResult } from '../contracts/ingestion.js';

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

export const reprocessProgressQuery = defineQuery<ReprocessProgress>('progress');
export const REPROCESS_MESSAGE_DESCRIPTIONS = {
  pause: 'Pause the reprocess run after the chunk in flight (each chunk is one transaction). Optional input: {"reason": "…"}.',
  resume: 'Resume the reprocess run from where it paused.',
  progress: 'Range, position (event time and id), chunks, events read, applied and skipped, paused and why.',
} as const;
