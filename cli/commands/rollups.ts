import { Command } from 'commander';
import pg from 'pg';
import { z } from 'zod';
import { loadConfig } from '../../config/env.js';
import { prefixedSink } from '../../stack/child-process.js';
import { readRuntimeState } from '../../stack/runtime-state.js';
import { parseOption } from '../options.js';

const day = z.coerce.date({ error: 'expected a date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z' });

export function rollupsCommand(): Command {
  const rollups = new Command('rollups').description('The rollups behind the reporting views and the Metabase cards (kept by the ingestion writer).');
  rollups
    .command('rebuild')
    .description(
      'Recompute every rollup from the fact tables, one UTC day per transaction: after migrating an existing warehouse, after a repair. Idempotent and safe while ingestion runs. Uses DATABASE_URL, the running stack’s database, or the embedded one.',
    )
    .option('--from <date>', 'first day to recompute (default: the earliest fact)')
    .option('--to <date>', 'day to stop before (default: after the latest fact)')
    .action(async (options: { from?: string; to?: string }) => {
      const from = options.from === undefined ? undefined : parseOption('--from', day, options.from);
      const to = options.to === undefined ? undefined : parseOption('--to', day, options.to);
      const config = loadConfig();
      const [{ openWarehouse }, { rebuildRollups }] = await Promise.all([import('../../stack/warehouse.js'), import('../../warehouse/rollups.js')]);
      const log = prefixedSink('rollups', 35);
      const running = config.DATABASE_URL ? undefined : readRuntimeState(config.DATA_DIR);
      const warehouse = running ? undefined : await openWarehouse(config, { postgres: () => undefined, migrate: log });
      const client = new pg.Client({ connectionString: running?.databaseUrl ?? warehouse!.adminUrl, application_name: 'restaurant-stack rollups rebuild' });
      try {
        await client.connect();
        const report = await rebuildRollups(client, {
          from,
          to,
          onChunk: (chunk) => log(`${chunk.day}: ${chunk.salesRows} sales, ${chunk.menuRows} menu, ${chunk.feedbackRows} feedback rows (${chunk.done}/${chunk.of})`),
        });
        log(report.days === 0 ? 'no facts yet: nothing to rebuild' : `rebuilt ${report.days} days (${report.from} to ${report.to}) in ${report.seconds.toFixed(1)} s`);
      } finally {
        await client.end().catch(() => undefined);
        await warehouse?.embedded?.stop();
      }
    });
  return rollups;
}
