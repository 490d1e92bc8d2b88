import os from 'node:os';
import { Client } from '@temporalio/client';
import { Runtime, Worker, type NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities } from '../activities/index.js';
import type { SourceLimits } from '../contracts/ingestion.js';
import type { ProcessorRegistry } from '../processors/processor.js';
import type { Logger } from '../telemetry/logger.js';
import { watchAbandonedSessions } from './abandoned-sessions.js';
import { exportStreamGauges } from './stream-gauges.js';
import { loadWorkflowBundle } from './workflow-bundle.js';

export interface IngestionWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  db: pg.Pool;
  processors: ProcessorRegistry;
  logger: Logger;
  /** Where the workflow bundle is cached. */
  dataDir: string;
  shutdownGraceSeconds: number;
  /** What one read from the source may cost (INGEST_MAX_EVENT_BYTES, INGEST_MAX_PAGE_BYTES). */
  sourceLimits?: SourceLimits;
  /**
   * Activities run at once, each holding at most one warehouse connection: the pool's size. It bounds
   * a worker's share of the streams, so the other workers on the task queue take the rest.
   */
  maxConcurrentActivities?: number;
}

export interface IngestionWorker {
  readonly worker: Worker;
  /** Polls the task queue, watches for sessions whose worker died, and exports the streams' gauges, until the worker stops. */
  readonly run: () => Promise<void>;
  /** Ends running sessions at their next batch boundary (they report their position) and shuts down. */
  readonly stop: () => void;
}

/** The one worker definition, used by `restaurant-stack worker` and by the tests alike. */
export async function createIngestionWorker(options: IngestionWorkerOptions): Promise<IngestionWorker> {
  const { connection, namespace, taskQueue, db, processors, logger } = options;
  const stopping = new AbortController();
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: await loadWorkflowBundle(options.dataDir, (line) => logger.info(line)),
    activities: createActivities({ db, processors, logger, workerIdentity: `${os.hostname()}:${process.pid}`, stopping: stopping.signal, sourceLimits: options.sourceLimits }),
    shutdownGraceTime: `${options.shutdownGraceSeconds} seconds`,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
    // Cancellation reaches an activity with its next heartbeat: keep that under a second so a pause is prompt.
    maxHeartbeatThrottleInterval: '250 milliseconds',
  });
  const client = new Client({ connection, namespace });
  return {
    worker,
    async run() {
      const watching = watchAbandonedSessions({ db, client, logger, signal: stopping.signal });
      const gauges = exportStreamGauges({ db, meter: Runtime.instance().metricMeter, logger, signal: stopping.signal });
      try {
        await worker.run();
      } finally {
        stopping.abort();
        await Promise.all([watching, gauges]);
      }
    },
    stop() {
      stopping.abort();
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
