import { Command } from 'commander';
import { loadConfig } from '../../config/env.js';

export function upCommand(): Command {
  return new Command('up')
    .description('Start the whole stack (what `npm start` runs): PostgreSQL, Temporal, the event API, migrations, the worker and the realtime ingestion. Ctrl-C stops it all.')
    .action(async () => {
      const { runStack } = await import('../../stack/up.js');
      await runStack(loadConfig());
    });
}
