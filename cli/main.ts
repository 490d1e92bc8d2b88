import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/env.js';
import { apiCommand } from './commands/api.js';
import { ingestCommand } from './commands/ingest.js';
import { locationsCommand } from './commands/locations.js';
import { maintenanceCommand } from './commands/maintenance.js';
import { metabaseCommand } from './commands/metabase.js';
import { migrateCommand } from './commands/migrate.js';
import { namespaceCommand } from './commands/namespace.js';
import { reprocessCommand } from './commands/reprocess.js';
import { rollupsCommand } from './commands/rollups.js';
import { upCommand } from './commands/up.js';
import { workerCommand } from './commands/worker.js';

const program = new Command('restaurant-stack')
  .description('Real-time restaurant analytics: event API → Temporal ingestion → PostgreSQL views for Metabase.')
  .showHelpAfterError()
  .exitOverride()
  .addCommand(upCommand())
  .addCommand(apiCommand())
  .addCommand(workerCommand())
  .addCommand(migrateCommand())
  .addCommand(namespaceCommand())
  .addCommand(ingestCommand())
  .addCommand(maintenanceCommand())
  .addCommand(rollupsCommand())
  .addCommand(locationsCommand())
  .addCommand(reprocessCommand())
  .addCommand(metabaseCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // Commander has already printed the problem; usage errors share the exit code of bad configuration.
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError) {
    console.error(`restaurant-stack: ${error.message}`);
    process.exit(2);
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`restaurant-stack: ${message}`);
  if (process.env.LOG_LEVEL === 'debug' && error instanceof Error) console.error(error.stack);
  process.exit(1);
}
