import { ConfigError, type StackConfig } from '../config/env.js';
import { temporalTarget } from '../config/temporal.js';
import { loadProcessors } from '../processors/registry.js';
import { createLogger } from '../telemetry/logger.js';
import { connectWorkerToTemporal, createWarehousePool } from './connections.js';
import { createIngestionWorker } from './create-worker.js';
import { startWorkerHttp } from './health.js';
import { installTemporalRuntime } from './telemetry.js';
import { limitHeapGrowth, memoryAllocator } from './memory.js';
import { findFreePort } from '../stack/ports.js';
import { onStopRequest } from '../lifecycle/stop-request.js';

/** grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING */
const GRPC_SERVING = 1;

/** `restaurant-stack worker`: polls the task queue until SIGINT/SIGTERM, then drains and exits. */
export async function runWorker(config: StackConfig): Promise<void> {
  if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL: the worker needs the warehouse connection (`npm start` sets it for the worker it runs)');
  limitHeapGrowth();
  const logger = createLogger('worker', config.LOG_LEVEL);
  // The SDK's exporter listens privately; the worker's own port serves it with /livez and /readyz.
  const sdkMetricsAddress = config.METRICS_PORT ? `127.0.0.1:${await findFreePort()}` : undefined;
  installTemporalRuntime(logger, config.LOG_LEVEL, sdkMetricsAddress);
  const http = sdkMetricsAddress ? await startWorkerHttp({ host: config.METRICS_HOST, port: config.METRICS_PORT, sdkMetricsAddress, logger }) : undefined;
  const processors = await loadProcessors(config.EVENT_PROCESSORS_MODULE);
  // Sessions hold a slot each but a connection only per batch; two more slots serve the short activities (checkpoints, claims, maintenance).
  const maxConcurrentActivities = config.WORKER_MAX_SESSIONS + 2;
  const db = createWarehousePool(config.DATABASE_URL, config.WORKER_DB_CONNECTIONS);
  const temporal = temporalTarget(config);
  const connection = await connectWorkerToTemporal(temporal);
  try {
    const { worker, run, stop } = await createIngestionWorker({
      connection,
      namespace: temporal.namespace,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      db,
      processors,
      logger,
      dataDir: config.DATA_DIR,
      shutdownGraceSeconds: config.WORKER_SHUTDOWN_GRACE_SECONDS,
      sourceLimits: { maxEventBytes: config.INGEST_MAX_EVENT_BYTES, maxPageBytes: config.INGEST_MAX_PAGE_BYTES },
      maxConcurrentActivities,
    });
    http?.setReadinessProbes({
      temporal: async () => Number((await connection.healthService.check({})).status) === GRPC_SERVING,
      postgres: async () => (await db.query('SELECT 1')).rowCount === 1,
      worker: () => worker.getState() === 'RUNNING',
    });
    onStopRequest((reason) => {
      logger.info('stopping: sessions end at their next batch boundary', { reason });
      stop();
    });
    logger.info('worker polling', { taskQueue: config.TEMPORAL_TASK_QUEUE, maxSessions: config.WORKER_MAX_SESSIONS, dbConnections: config.WORKER_DB_CONNECTIONS, namespace: config.TEMPORAL_NAMESPACE, eventTypes: processors.inOrder.map((p) => p.eventType), allocator: memoryAllocator() });
    await run();
    logger.info('worker stopped');
  } finally {
    await http?.close();
    await connection.close();
    await db.end();
  }
}
