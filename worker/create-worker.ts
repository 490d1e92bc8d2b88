import os from 'node:os';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities } from '../activities/index.js';
import type { ProcessorRegistry } from '../activities/processors/processor.js';
import type { Logger } from '../telemetry/logger.js';
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
}

/** The one worker definition, used by `restaurant-stack worker` and by the tests alike. */
export async function createIngestionWorker(options: IngestionWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, db, processors, logger } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowBundle: await loadWorkflowBundle(options.dataDir, (line) => logger.info(line)),
    activities: createActivities({ db, processors, logger, workerIdentity: `${os.hostname()}:${process.pid}` }),
    shutdownGraceTime: `${options.shutdownGraceSeconds} seconds`,
    // Cancellation reaches an activity with its next heartbeat: keep that under a second so a pause is prompt.
    maxHeartbeatThrottleInterval: '250 milliseconds',
  });
}
