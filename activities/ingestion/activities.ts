import { CancelledFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import type { Logger } from '../../telemetry/logger.js';
import type { CheckpointRewind, SessionReport, SessionRequest, StreamClaimRequest, StreamClaimResult, StreamPosition } from '../../contracts/ingestion.js';
import type { ProcessorRegistry } from '../../processors/processor.js';
import { warehouseDbOver } from '../../warehouse/connect.js';
import { BatchWriter } from '../warehouse/batch-writer.js';
import { readCheckpoint, rewindCheckpoint } from '../warehouse/checkpoints.js';
import { IngestionMetrics } from './metrics.js';
import { IngestionSession, type SessionProgress } from './session.js';
import { claimStreamActivity } from './stream-claim.js';

export interface IngestionDependencies {
  db: pg.Pool;
  processors: ProcessorRegistry;
  logger: Logger;
  /** Written to events_raw.ingested_by. */
  workerIdentity: string;
  /** How often a running session heartbeats its committed position (and learns of cancellation). */
  heartbeatIntervalMs?: number;
  /** Aborted when the worker is stopping: sessions then end early, normally, reporting their position. */
  stopping: AbortSignal;
}

/**
 * The ingestion activities. A session holds one connection for its batches and heartbeats its
 * committed position on a timer, so a retry after a crash resumes exactly there.
 */
export function createIngestionActivities(deps: IngestionDependencies) {
  const warehouse = warehouseDbOver(deps.db);
  async function runSession(request: SessionRequest, run: (session: IngestionSession) => Promise<SessionReport>): Promise<SessionReport> {
    const context = Context.current();
    const resumeFrom = context.info.heartbeatDetails as SessionProgress | undefined;
    let progress: SessionProgress | undefined = resumeFrom;
    const heartbeat = setInterval(() => context.heartbeat(progress), deps.heartbeatIntervalMs ?? 200);
    const client = await deps.db.connect();
    const logger = deps.logger.child({ stream: request.stream, activity: context.info.activityType, attempt: context.info.attempt });
    // A connection the server drops (PostgreSQL restarting) emits 'error' besides failing its query:
    // without a listener that would take the worker down.
    const onConnectionError = (error: Error) => logger.warn('warehouse connection lost', { error: error.message });
    client.on('error', onConnectionError);
    let session: IngestionSession | undefined;
    let failure: Error | undefined;
    try {
      session = new IngestionSession(request, resumeFrom, {
        writer: new BatchWriter(client, deps.processors, deps.workerIdentity),
        processors: deps.processors,
        logger,
        cancelled: context.cancellationSignal,
        stopping: deps.stopping,
        metrics: new IngestionMetrics(context.metricMeter.withTags({ stream: request.stream })),
        onCommit: (committed) => {
          progress = committed;
        },
      });
      return await run(session);
    } catch (error) {
      // A connection that saw an error is not trusted back into the pool.
      failure = error instanceof Error ? error : new Error(String(error));
      if (context.cancellationSignal.aborted) throw new CancelledFailure('ingestion session cancelled', [progress]);
      logger.error('ingestion session failed', { error });
      throw error;
    } finally {
      // A write still in flight (the session ended by an error or a cancellation) finishes, committed
      // or rolled back, before its connection goes back to the pool.
      await session?.drain();
      session?.dispose();
      clearInterval(heartbeat);
      client.off('error', onConnectionError);
      client.release(failure);
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
