import { Command } from 'commander';
import { loadConfig } from '../../config/env.js';
import { runWorker } from '../../worker/main.js';

export function workerCommand(): Command {
  return new Command('worker')
    .description('Run a Temporal worker: the ingestion workflows and their activities (SIGINT/SIGTERM drains and stops it).')
    .action(async () => runWorker(loadConfig()));
}
