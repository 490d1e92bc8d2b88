import { Command, Option } from 'commander';
import { loadConfig } from '../../config/env.js';
import { prefixedSink } from '../../stack/child-process.js';
import { readRuntimeState } from '../../stack/runtime-state.js';
import type { MigrationDirection } from '../../warehouse/migrate.js';

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('Bring the warehouse schema, roles and grants up to date (idempotent; safe to run concurrently). Uses DATABASE_URL, the running stack’s database, or the embedded one.')
    .addOption(
      new Option('--direction <direction>', 'latest: apply all pending; up/down: one step; reset: revert everything (drops the warehouse data)')
        .choices(['latest', 'up', 'down', 'reset'])
        .default('latest'),
    )
    .action(async (options: { direction: MigrationDirection }) => {
      const config = loadConfig();
      const [{ openWarehouse, applyPluginSetup }, { migrateWarehouse }] = await Promise.all([import('../../stack/warehouse.js'), import('../../warehouse/migrate.js')]);
      const log = prefixedSink('migrate', 35);
      const running = config.DATABASE_URL ? undefined : readRuntimeState(config.DATA_DIR);
      if (running) log(`using the running stack’s database (pid ${running.pid})`);
      const warehouse = running ? undefined : await openWarehouse(config, { postgres: () => undefined, migrate: log });
      try {
        const connectionString = running?.databaseUrl ?? warehouse!.adminUrl;
        const report = await migrateWarehouse({ connectionString, passwords: warehouse?.passwords, direction: options.direction, defaultTimeZone: config.WAREHOUSE_TIME_ZONE, log });
        if (options.direction === 'latest') await applyPluginSetup(config, connectionString, log);
        log(report.applied.length === 0 ? `${report.database}: already up to date (${report.current ?? 'no migrations'})` : `${report.database}: now at ${report.current ?? 'no migrations'}`);
      } finally {
        await warehouse?.embedded?.stop();
      }
    });
}
