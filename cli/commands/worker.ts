import { Command } from 'commander';
import { loadConfig } from '../../config/env.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run a Temporal worker: the ingestion workflows and their activities (SIGINT/SIGTERM drains and stops it).')
    .action(async () => {
      const { runWorker } = await import('../../worker/main.js');
      await runWorker(loadConfig());
    });
}
