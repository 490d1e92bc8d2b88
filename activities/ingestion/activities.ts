import { randomUUID } from 'node:crypto';
import { CancelledFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import type { Logger } from '../../telemetry/logger.js';
import { DEFAULT_SOURCE_LIMITS, type CheckpointRewind, type SessionActivityTimes, type SessionReport, type SessionRequest, type SourceLimits, type StreamClaimRequest, type StreamClaimResult, type StreamPosition } from '../../contracts/ingestion.js';
import type { ProcessorRegistry } from '../../processors/processor.js';
import { warehouseDbOver } from '../../warehouse/connect.js';
import { BatchWriter } from '../warehouse/batch-writer.js';
import { rewindCheckpoint } from '../warehouse/checkpoints.js';
import { readCheckpoint } from '../../warehouse/checkpoints.js';
import { ConnectionLender } from '../warehouse/connection-lender.js';
import { takeOwnership } from '../warehouse/ownership.js';
import { resolveSourceHeaders, type SourceAccess } from '../restaurant-api/source.js';
import { FeedKeeper } from './feed-keeper.js';
import { Liveness } from './liveness.js';
import { IngestionMetrics } from './metrics.js';
import { IngestionSession, type SessionProgress } from './session.js';
import { claimStreamActivity } from './stream-claim.js';

/**
 * How often a session checks its progress and heartbeats it if it moved: a beat a second keeps well
 * inside the 10 s heartbeat timeout, and each one costs the worker a payload encoded and handed to
 * Temporal's core (at 200 ms, 1,000 a second for 200 feeds).
 */
const HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * A session with no progress for this long gives itself up (a retry follows at once), whatever the
 * activity's heartbeat timeout, which is left to notice a frozen worker.
 */
const STALL_TIMEOUT_MS = 3_000;

export interface IngestionDependencies {
  db: pg.Pool;
  processors: ProcessorRegistry;
  logger: Logger;
  /** Written to events_raw.ingested_by. */
  workerIdentity: string;
  /** How often a running session checks its progress and, if it moved, heartbeats it (and learns of cancellation). */
  heartbeatIntervalMs?: number;
  /** Aborted when the worker is stopping: sessions then end early, normally, reporting their position. */
  stopping: AbortSignal;
  /** What one read from the source may cost this worker; default DEFAULT_SOURCE_LIMITS. */
  sourceLimits?: SourceLimits;
  /** Where the source credentials a session names are looked up; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Of the pool's connections, how many the sessions' batches may hold at once (default 1); the rest serve the short activities. */
  batchConnections?: number;
  /** The worker's presence (worker/presence.ts), recorded with each session so a dead worker's sessions are failed at once. */
  presence?: { readonly key: number | null };
}

/** Heartbeat details: what a retry resumes from, what moved, and when the session last read and committed (`ingest status`). */
export interface SessionHeartbeat extends Partial<SessionProgress>, SessionActivityTimes {
  bytesRead: number;
  ownerGeneration: number;
}

/**
 * The ingestion activities. A session takes ownership of its stream (fencing out any previous one),
 * borrows a connection for each batch's transaction only, and heartbeats only when it makes progress,
 * so a session stuck anywhere is retried after the heartbeat timeout. The worker keeps each stream's
 * SSE connection between sessions (FeedKeeper).
 */
export function createIngestionActivities(deps: IngestionDependencies) {
  const warehouse = warehouseDbOver(deps.db);
  const connections = new ConnectionLender(deps.db, deps.batchConnections ?? 1);
  // One writer for every session: their batches commit together (see BatchWriter).
  const writer = new BatchWriter(connections, deps.processors, deps.workerIdentity);
  const feeds = new FeedKeeper();
  deps.stopping.addEventListener('abort', () => feeds.closeAll(), { once: true });
  const limits = deps.sourceLimits ?? DEFAULT_SOURCE_LIMITS;

  async function runSession(request: SessionRequest, run: (session: IngestionSession) => Promise<SessionReport>): Promise<SessionReport> {
    const context = Context.current();
    const resumeFrom = context.info.heartbeatDetails as SessionHeartbeat | undefined;
    const logger = deps.logger.child({ stream: request.stream, activity: context.info.activityType, attempt: context.info.attempt });
    const source: SourceAccess = { url: request.sourceUrl, headers: resolveSourceHeaders(request.credentials, deps.env), ...limits };
    // Nothing runs on a timer before the stream is ours: a failed connect leaves nothing behind.
    const token = `${deps.workerIdentity} ${context.info.activityId}#${context.info.attempt} ${randomUUID()}`;
    const ownership = await takeOwnership(connections, request.stream, token, request.position, { worker: deps.presence?.key ?? null, taskToken: context.info.taskToken });
    const liveness = new Liveness(Math.min(context.info.heartbeatTimeoutMs || Number.POSITIVE_INFINITY, STALL_TIMEOUT_MS));
    let beat: SessionHeartbeat = { ...resumeFrom, bytesRead: 0, ownerGeneration: ownership.generation };
    const metrics = new IngestionMetrics(context.metricMeter.withTags({ stream: request.stream }));
    const heartbeat = setInterval(() => {
      metrics.publish();
      if (liveness.progressed()) context.heartbeat({ ...beat, bytesRead: liveness.bytesRead });
    }, deps.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
    const session = new IngestionSession(request, resumeFrom?.counts ? { position: ownership.position, counts: resumeFrom.counts } : undefined, {
      writer: writer.forOwner(ownership.token),
      processors: deps.processors,
      logger,
      cancelled: context.cancellationSignal,
      stopping: deps.stopping,
      metrics,
      source,
      liveness,
      start: ownership.position,
      feeds,
      onCommit: (committed) => {
        beat = { ...beat, ...committed, lastCommittedAt: new Date().toISOString() };
      },
      onRead: (at) => {
        beat.lastReadAt = at;
      },
    });
    try {
      return await run(session);
    } catch (error) {
      if (context.cancellationSignal.aborted) throw new CancelledFailure('ingestion session cancelled', [beat]);
      logger.error('ingestion session failed', { error });
      throw error;
    } finally {
      // A write still in flight (the session ended by an error or a cancellation) finishes, committed
      // or rolled back, before the activity reports.
      await session.drain();
      session.dispose();
      metrics.publish();
      clearInterval(heartbeat);
    }
  }

  return {
    async consumeStream(request: SessionRequest): Promise<SessionReport> {
      return runSession(request, (session) => session.consumeStream());
    },
    async pollStream(request: SessionRequest): Promise<SessionReport> {
      return runSession(request, (session) => session.pollStream());
    },
    async readCheckpoint(stream: string): Promise<StreamPosition | null> {
      return readCheckpoint(warehouse, stream);
    },
    async rewindCheckpoint(rewind: CheckpointRewind): Promise<StreamPosition> {
      return rewindCheckpoint(warehouse, rewind);
    },
    async claimStream(request: StreamClaimRequest): Promise<StreamClaimResult> {
      return claimStreamActivity(warehouse, request);
    },
  };
}
