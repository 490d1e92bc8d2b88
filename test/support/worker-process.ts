import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';
import { loadConfig, projectRoot } from '../../config/env.js';

export interface WorkerProcessOptions {
  /** The warehouse the worker writes to. */
  readonly databaseUrl: string;
  readonly taskQueue: string;
  /** Further environment (limits, credentials), over the test's own. */
  readonly env?: Record<string, string>;
  /** Node flags before the script, e.g. a heap bound. */
  readonly nodeFlags?: readonly string[];
}

/** `restaurant-stack worker` as its own process (to be SIGKILLed, SIGSTOPped, or starved of memory), on the test server. */
export function spawnWorkerProcess({ databaseUrl, taskQueue, env = {}, nodeFlags = [] }: WorkerProcessOptions): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATA_DIR: loadConfig().DATA_DIR,
      LOG_LEVEL: 'warn',
      METRICS_PORT: '0',
      ...env,
    },
    stdio: 'ignore',
  });
}
