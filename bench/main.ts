import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/env.js';
import type { z } from 'zod';
import { parseOption } from '../cli/options.js';
import { benchFlagsSchema, MEASUREMENTS } from './options.js';

const HELP_AFTER = `
Measurements (in the order a run takes them):
  generator    the event API's delivery rate to 1 and 10 SSE clients (the source's capacity)
  throughput   events/s sustained through the whole path, event API → worker → PostgreSQL
  copy-floor   the same events' rows written with COPY into the same tables (the machine's floor)
  naive        the old way: one autocommitted INSERT per event and fact
  latency      an event's ts → its row visible, at 1,000 events/s
  recovery     SIGKILL the worker under load: seconds until ingestion moves, lost and doubled events
  streams      aggregate throughput of 1, 2 and 4 streams on one worker and on two
  streams.quiet  api --feeds 200 --rate 5, a streams file of 200 streams, one worker on defaults: every
               feed's staleness p99, the worker's warehouse connections and peak RSS, Temporal actions
               per feed-minute (about 6 minutes)
  dashboards   every Metabase card's SQL on 2 million paid orders over 5 years at 12 locations in four zones
               (rollups), the views checked against the facts in six session zones, and ingestion with/without rollups
  scaling      throughput with events_raw holding 0, 1 million and 10 million rows (minutes: last)

Writes bench/results/latest.json and latest.meta.json; method and latest numbers: bench/README.md.

Examples:
  npm run bench                                  # everything, about 8 minutes
  npm run bench -- --quick                       # a smoke run in under two minutes (no scaling)
  npm run bench -- --only latency,recovery
  npm run bench -- --only streams.quiet          # 200 quiet feeds on one worker
  npm run bench -- --only throughput --profile   # where the worker's and PostgreSQL's time goes
`;

/** `npm run bench`: the benchmark, on a PostgreSQL and Temporal it provisions itself. Tooling, not part of the product CLI. */
const program = new Command('npm run bench --')
  .description('Measure ingestion: throughput, COPY floor, naive baseline, latency, recovery, memory and scaling. Provisions its own PostgreSQL and Temporal.')
  .option('--only <names>', `comma-separated measurements: ${MEASUREMENTS.join(', ')}`)
  .option('--quick', 'short phases: a smoke run in about two minutes (scaling only when named in --only)')
  .option('--seconds <n>', 'length of the sustained throughput window; the other phases scale with it (default 60, 10 with --quick)')
  .option('--skip-scaling', 'leave out the scaling measurement and its 10-million-row pre-fill')
  .option('--dashboard-orders <n>', 'paid orders in the dashboards warehouse (default 2000000; 200000 with --quick)')
  .option('--dashboard-years <n>', 'years of history those orders spread over (default 5)')
  .option('--profile', 'during throughput: CPU-profile the worker (node --cpu-prof) and record PostgreSQL statement times (pg_stat_statements)')
  .addHelpText('after', HELP_AFTER)
  .exitOverride()
  .action(async (given: Record<string, unknown>) => {
    for (const [name, value] of Object.entries(given)) {
      const flag = `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
      parseOption(flag, benchFlagsSchema.shape[name as keyof typeof benchFlagsSchema.shape] as z.ZodType, value);
    }
    const flags = benchFlagsSchema.parse(given);
    const { runBenchmarks } = await import('./run.js');
    const run = await runBenchmarks(flags);
    console.log(`\n${run.table}\n`);
    for (const file of run.files) console.log(`written: ${file}`);
    if (run.failed.length > 0) {
      console.error(`failed: ${run.failed.join(', ')} (see ${run.files[1]})`);
      process.exitCode = 1;
    }
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}
