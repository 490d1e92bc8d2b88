import { Command } from 'commander';
import { z } from 'zod';
import { ConfigError, loadConfig, type StackConfig } from '../../config/env.js';
import { storedRolePasswords } from '../../stack/role-passwords.js';
import { readRuntimeState } from '../../stack/runtime-state.js';
import { databaseOf, databaseUrl } from '../../warehouse/connect.js';
import { warehouseDatabaseName } from '../../warehouse/database.js';
import { parseOption } from '../options.js';

interface MetabaseFlags {
  url?: string;
  adminEmail?: string;
  adminPassword?: string;
  databaseHost?: string;
  databasePort?: string;
  databaseName?: string;
  readerPassword?: string;
}

const POSTGRES_PORT = 5432;

const HELP_AFTER = `
Creates or updates, never duplicates: the connection "Restaurant Analytics warehouse" (as analytics_reader,
syncing the analytics schema), the collection "Restaurant Analytics", its native SQL questions over the
views, and the dashboards Real-time Sales, Performance KPIs and Operational Insights. A new Metabase is set
up with the given admin; otherwise the admin signs in, or MB_API_KEY (a Metabase API key, v0.49+) is
used instead. Metabase v0.48 or later.

The database host and port are as Metabase reaches them: in docker-compose that is postgres:5432, not
the address this machine uses. Prefer MB_ADMIN_PASSWORD and ANALYTICS_READER_PASSWORD to the flags, which
other users of this machine can see in the process list.

Examples:
  restaurant-stack metabase --admin-email admin@example.com            # the running stack, Metabase on :3000
  restaurant-stack metabase --url http://localhost:3000 --database-host postgres --database-port 5432
`;

const nonEmpty = z.string().trim().min(1, { error: 'must not be empty' });
const flagSchemas = {
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  adminEmail: z.email({ error: 'must be an email address' }),
  port: z.coerce.number().int().min(1).max(65535),
};

function required(flag: string, variable: string, value: string | undefined): string {
  if (value === undefined) throw new ConfigError(`${flag} (or ${variable}) is required`);
  return value;
}

function requiredAdmin(flag: string, variable: string, value: string | undefined): string {
  if (value === undefined) throw new ConfigError(`${flag} (or ${variable}) is required, unless MB_API_KEY is given for a Metabase that is already set up`);
  return value;
}

/** The warehouse the rest of the stack uses: DATABASE_URL's server, the running stack's, or the embedded default. */
function stackWarehouse(config: StackConfig): { host: string; port: number; database: string } {
  const running = config.DATABASE_URL ? undefined : readRuntimeState(config.DATA_DIR);
  const url = running?.databaseUrl ?? (config.DATABASE_URL ? databaseUrl(config.DATABASE_URL, warehouseDatabaseName(config.DATABASE_URL, config.WAREHOUSE_DATABASE)) : undefined);
  if (!url) return { host: '127.0.0.1', port: config.EMBEDDED_POSTGRES_PORT, database: config.WAREHOUSE_DATABASE };
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || POSTGRES_PORT), database: databaseOf(url) };
}

/** `restaurant-stack metabase`: provisions a Metabase instance with the warehouse connection and the restaurant dashboards. */
export function metabaseCommand(): Command {
  return new Command('metabase')
    .description('Provision Metabase (idempotent): the warehouse connection as analytics_reader and the Real-time Sales, Performance KPIs and Operational Insights dashboards.')
    .option('--url <url>', "Metabase's address (default: MB_URL, else http://localhost:3000)")
    .option('--admin-email <email>', 'the admin to sign in as, or to create on a new instance (default: MB_ADMIN_EMAIL)')
    .option('--admin-password <password>', 'their password (default: MB_ADMIN_PASSWORD)')
    .option('--database-host <host>', "the warehouse host as Metabase reaches it (default: DATABASE_URL's or the running stack's host)")
    .option('--database-port <port>', "its port (default: DATABASE_URL's or the running stack's port)")
    .option('--database-name <name>', 'the warehouse database (default: the running stack’s, else WAREHOUSE_DATABASE)')
    .option('--reader-password <password>', "analytics_reader's password (default: ANALYTICS_READER_PASSWORD, else the embedded stack's generated one)")
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: MetabaseFlags) => {
      const config = loadConfig();
      const url = parseOption('--url', flagSchemas.url, flags.url ?? config.MB_URL);
      const adminEmail = flags.adminEmail ?? config.MB_ADMIN_EMAIL;
      const adminPassword = flags.adminPassword ?? config.MB_ADMIN_PASSWORD;
      // An API key replaces the admin's sign-in; the admin is still needed to set up a new instance.
      const admin =
        config.MB_API_KEY && adminEmail === undefined && adminPassword === undefined
          ? undefined
          : {
              email: parseOption('--admin-email', flagSchemas.adminEmail, requiredAdmin('--admin-email', 'MB_ADMIN_EMAIL', adminEmail)),
              password: parseOption('--admin-password', nonEmpty, requiredAdmin('--admin-password', 'MB_ADMIN_PASSWORD', adminPassword)),
            };
      const stack = stackWarehouse(config);
      const warehouse = {
        host: parseOption('--database-host', nonEmpty, flags.databaseHost ?? stack.host),
        port: parseOption('--database-port', flagSchemas.port, flags.databasePort ?? stack.port),
        database: parseOption('--database-name', nonEmpty, flags.databaseName ?? stack.database),
        readerPassword: parseOption(
          '--reader-password',
          nonEmpty,
          required('--reader-password', 'ANALYTICS_READER_PASSWORD', flags.readerPassword ?? config.ANALYTICS_READER_PASSWORD ?? (config.DATABASE_URL ? undefined : storedRolePasswords(config.DATA_DIR)?.analyticsReader)),
        ),
      };

      const [{ MetabaseClient }, { provisionMetabase }] = await Promise.all([import('../../metabase/client.js'), import('../../metabase/provision.js')]);
      const report = await provisionMetabase(new MetabaseClient(url, config.MB_API_KEY), {
        admin,
        warehouse,
        log: (line) => console.log(`metabase: ${line}`),
      });
      console.log(`\n${report.dashboards.map((dashboard) => `${dashboard.name.padEnd(22)} ${dashboard.url}`).join('\n')}`);
    });
}
