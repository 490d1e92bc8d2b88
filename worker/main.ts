import { ConfigError, type StackConfig } from '../config/env.js';
import { temporalTarget } from '../config/temporal.js';
import { loadProcessors } from '../processors/registry.js';
import { createLogger } from '../telemetry/logger.js';
import { connectWorkerToTemporal, createWarehousePool } from './connections.js';
import { createIngestionWorker } from './create-worker.js';
import { installTemporalRuntime } from './telemetry.js';
import { onStopRequest } from '../lifecycle/stop-request.js';

/** `restaurant-stack worker`: polls the task queue until SIGINT/SIGTERM, then drains and exits. */
export async function runWorker(config: StackConfig): Promise<void> {
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL: the worker needs the warehouse connection (`npm start` sets it for the worker it runs)');
  const logger = createLogger('worker', config.LOG_LEVEL);
  installTemporalRuntime(logger, config.LOG_LEVEL, config.METRICS_PORT ? `${config.METRICS_HOST}:${config.METRICS_PORT}` : undefined);
  const processors = await loadProcessors(config.EVENT_PROCESSORS_MODULE);
  // Every session holds a connection; two more serve the short activities (checkpoints, claims, maintenance).
  const maxConcurrentActivities = config.WORKER_MAX_SESSIONS + 2;
  const db = createWarehousePool(config.DATABASE_URL, maxConcurrentActivities);
  const temporal = temporalTarget(config);
  const connection = await connectWorkerToTemporal(temporal);
  try {
    const { worker, stop } = await createIngestionWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      db,
      processors,
      logger,
      dataDir: config.DATA_DIR,
      shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
      maxConcurrentActivities,
    });
    onStopRequest((reason) => {
      logger.info('stopping: sessions end at their next batch boundary', { reason });
      stop();
    });
    logger.info('worker polling', { taskQueue: config.TEMPORAL_TASK_QUEUE, maxSessions: config.WORKER_MAX_SESSIONS, namespace: config.TEMPORAL_NAMESPACE, eventTypes: processors.inOrder.map((p) => p.eventType) });
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
    await db.end();
  }
}
