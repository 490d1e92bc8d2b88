import { Command } from 'commander';
import { loadConfig } from '../../config/env.js';
import { runStack } from '../../stack/up.js';

export function upCommand(): Command {
  return new Command('up')
    .description('Start the whole stack (what `npm start` runs): PostgreSQL, Temporal, the event API, migrations, the worker and the realtime ingestion. Ctrl-C stops it all.')
    .action(async () => runStack(loadConfig()));
}
