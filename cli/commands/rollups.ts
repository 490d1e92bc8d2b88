import { Command } from 'commander';
import { z } from 'zod';
import { loadConfig } from '../../config/env.js';
import { prefixedSink } from '../../stack/child-process.js';
import { parseOption } from '../options.js';

const day = z.coerce.date({ error: 'expected a date or time, e.g. 2026-11-01 or 2026-11-01T00:00:00Z' });

export function rollupsCommand(): Command {
  const rollups = new Command('rollups').description('The rollups behind the reporting views and the Metabase cards (kept by the ingestion writer).');
  rollups
    .command('rebuild')
    .description(
      'Bring every rollup to the same aggregate over the fact tables, in chunks of whole UTC months, one transaction each: after migrating an existing warehouse, after a repair. Corrects only what differs; idempotent, and never holds ingestion up. Uses DATABASE_URL, the running stack’s database, or the embedded one.',
    )
    .option('--from <date>', 'a day in the first month to rebuild (default: the earliest fact)')
    .option('--to <date>', 'day to stop before; its month is included unless it is the first of a month (default: after the latest fact)')
    .action(async (options: { from?: string; to?: string }) => {
      const from = options.from === undefined ? undefined : parseOption('--from', day, options.from);
      const to = options.to === undefined ? undefined : parseOption('--to', day, options.to);
      const config = loadConfig();
      const [{ withOperatorConnection }, { rebuildRollups }] = await Promise.all([import('../../stack/warehouse.js'), import('../../warehouse/rollups.js')]);
      const log = prefixedSink('rollups', 35);
      await withOperatorConnection(config, 'restaurant-stack rollups rebuild', log, async (pool) => {
        const report = await rebuildRollups(pool, {
          from,
          to,
          onChunk: (chunk) =>
            log(`${chunk.months.join(' to ')}: corrected ${chunk.salesKeys} sales, ${chunk.locationKeys} business-day, ${chunk.menuKeys} menu, ${chunk.feedbackKeys} feedback keys (${chunk.done}/${chunk.of})`),
        });
        log(
          report.months === 0
            ? 'no facts yet: nothing to rebuild'
            : `rebuilt ${report.months} months (${report.from} to ${report.to}) in ${report.seconds.toFixed(1)} s: ${report.corrected} keys corrected`,
        );
      });
    });
  return rollups;
}
