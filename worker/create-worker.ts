import { setMaxListeners } from 'node:events';
import os from 'node:os';
import { Client } from '@temporalio/client';
import { Runtime, Worker, type NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities } from '../activities/index.js';
import { SESSION_HEARTBEAT_THROTTLE_SECONDS, type SourceLimits } from '../contracts/ingestion.js';
import type { ProcessorRegistry } from '../processors/processor.js';
import type { Logger } from '../telemetry/logger.js';
import { watchAbandonedSessions } from './abandoned-sessions.js';
import { WorkerPresence } from './presence.js';
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
   * Activities run at once (the sessions' slots and a few for the short activities). It bounds a
   * worker's share of the streams, so the other workers on the task queue take the rest.
   */
  maxConcurrentActivities?: number;
}

/** Of the pool's connections, these serve the presence lock, the abandoned-session watch and the short activities; the sessions' batches share the rest. */
const RESERVED_CONNECTIONS = 3;

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
  // Every running session listens to it: hundreds of listeners are expected, not a leak.
  setMaxListeners(0, stopping.signal);
  const presence = new WorkerPresence(db, logger);
  const batchConnections = Math.max(1, (db.options.max ?? 10) - RESERVED_CONNECTIONS);
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: await loadWorkflowBundle(options.dataDir, (line) => logger.info(line)),
    activities: createActivities({
      db,
      processors,
      logger,
      workerIdentity: `${os.hostname()}:${process.pid}`,
      stopping: stopping.signal,
      sourceLimits: options.sourceLimits,
      batchConnections,
      presence,
    }),
    shutdownGraceTime: `${options.shutdownGraceSeconds} seconds`,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities,
    // Cancellation reaches an activity with its next heartbeat: every 3 s keeps a pause within seconds,
    // and no more often keeps hundreds of sessions cheap (each heartbeat sent is a Temporal action and a
    // write on the server: at 800 ms, 200 quiet feeds overloaded the dev server's persistence).
    maxHeartbeatThrottleInterval: `${SESSION_HEARTBEAT_THROTTLE_SECONDS} seconds`,
  });
  const client = new Client({ connection, namespace });
  return {
    worker,
    async run() {
      // Presence outlives the sessions: it is released only once they have ended.
      const leaving = new AbortController();
      const present = presence.hold(leaving.signal);
      const watching = watchAbandonedSessions({ db, client, logger, signal: stopping.signal });
      const gauges = exportStreamGauges({ db, meter: Runtime.instance().metricMeter, logger, signal: stopping.signal });
      try {
        await Promise.race([presence.established, new Promise((resolve) => stopping.signal.addEventListener('abort', resolve, { once: true }))]);
        const running = worker.run();
        // Stopped while waiting for presence: the worker starts only to shut down.
        if (stopping.signal.aborted) worker.shutdown();
        await running;
      } finally {
        stopping.abort();
        await Promise.all([watching, gauges]);
        leaving.abort();
        await present;
      }
    },
    stop() {
      stopping.abort();
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}
