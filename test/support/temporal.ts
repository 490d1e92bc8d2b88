import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../config/env.js';
import type { ProcessorRegistry } from '../../processors/processor.js';
import { loadProcessors } from '../../processors/registry.js';
import { createLogger } from '../../telemetry/logger.js';
import { createIngestionWorker } from '../../worker/create-worker.js';
import { installTemporalRuntime } from '../../worker/telemetry.js';

export interface TestWorker {
  readonly worker: Worker;
  readonly client: Client;
  readonly taskQueue: string;
  /** Resolves when the worker has stopped (after `stop`, or on its own after a fatal error). */
  readonly running: Promise<void>;
  stop(): Promise<void>;
}

/** The production worker definition on its own task queue, against the shared test Temporal server. */
export async function startTestWorker(db: pg.Pool, options: { processors?: ProcessorRegistry; label?: string; address?: string; taskQueue?: string } = {}): Promise<TestWorker> {
  const logger = createLogger('test-worker', 'warn');
  installTemporalRuntime(logger, 'warn');
  const address = options.address ?? inject('temporalAddress');
  const taskQueue = options.taskQueue ?? `${options.label ?? 'test'}-${randomBytes(4).toString('hex')}`;
  const connection = await NativeConnection.connect({ address });
  const { worker, run, stop } = await createIngestionWorker({
    connection,
    namespace: 'default',
    taskQueue,
    db,
    processors: options.processors ?? (await loadProcessors()),
    logger,
    dataDir: loadConfig().DATA_DIR,
    shutdownGraceSeconds: 5,
  });
  const running = run();
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace: 'default' });
  return {
    worker,
    client,
    taskQueue,
    running,
    async stop() {
      stop();
      await running;
      await connection.close();
      await clientConnection.close();
    },
  };
}
