import { Command } from 'commander';
import type { z } from 'zod';
import { ConfigError, loadConfig } from '../../config/env.js';
import { prefixedSink } from '../../stack/child-process.js';
import { parseOption } from '../options.js';

const columns = ['location', 'name', 'time zone', 'from', 'business day starts', 'business day now', 'local time'] as const;

function table(rows: string[][]): string {
  const widths = columns.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join('  ').trimEnd();
  return [line(columns), ...rows.map(line)].join('\n');
}

export function locationsCommand(): Command {
  const locations = new Command('locations').description(
    'Each location’s time zone and business day: the local time its day starts (a POS cut-off such as 04:00). Uses DATABASE_URL, the running stack’s database, or the embedded one.',
  );
  locations
    .command('list')
    .description('Every location the warehouse has seen, its zone (and where it came from: the province in its code, WAREHOUSE_TIME_ZONE, or set), its cut-off and its business day now.')
    .option('--json', 'one JSON array instead of a table')
    .action(async (options: { json?: boolean }) => {
      const config = loadConfig();
      const [{ withOperatorConnection }, { listLocations }, { warehouseDbOver }] = await Promise.all([
        import('../../stack/warehouse.js'),
        import('../../warehouse/locations.js'),
        import('../../warehouse/connect.js'),
      ]);
      const found = await withOperatorConnection(config, 'restaurant-stack locations', prefixedSink('locations', 35), (pool) => listLocations(warehouseDbOver(pool)));
      if (options.json) console.log(JSON.stringify(found, null, 2));
      else if (found.length === 0) console.log('no locations yet: each gets its row with its first order (or set one ahead with `locations set`)');
      else console.log(table(found.map((l) => [l.code, l.name ?? '', l.timeZone, l.timeZoneSource, l.businessDayStart, l.currentBusinessDay, l.localTime])));
    });
  locations
    .command('set')
    .description(
      'Set a location’s zone, business-day start or name. Its business days are re-derived from the facts in the same transaction (rollup writers wait for it, a second or so per million orders): the views are exact when the command returns.',
    )
    .argument('<code>', 'the location code, e.g. LOC-ON-007')
    .option('--time-zone <zone>', 'an IANA zone, e.g. America/Vancouver or Asia/Kolkata')
    .option('--business-day-start <HH:MM>', 'the local time each business day starts, e.g. 04:00')
    .option('--name <name>', 'a name shown beside the code')
    .action(async (code: string, options: { timeZone?: string; businessDayStart?: string; name?: string }) => {
      const config = loadConfig();
      const [{ withOperatorConnection }, { setLocation, locationFields, LocationChangeRefused }, { warehouseDbOver }] = await Promise.all([
        import('../../stack/warehouse.js'),
        import('../../warehouse/locations.js'),
        import('../../warehouse/connect.js'),
      ]);
      const given = <T>(flag: string, schema: z.ZodType<T>, value: string | undefined) => (value === undefined ? undefined : parseOption(flag, schema, value));
      const change = {
        code: parseOption('location code', locationFields.code, code),
        timeZone: given('--time-zone', locationFields.timeZone, options.timeZone),
        businessDayStart: given('--business-day-start', locationFields.businessDayStart, options.businessDayStart),
        name: given('--name', locationFields.name, options.name),
      };
      if (!change.timeZone && !change.businessDayStart && !change.name) throw new ConfigError(`locations set ${code}: nothing to change: give --time-zone, --business-day-start or --name`);
      const log = prefixedSink('locations', 35);
      await withOperatorConnection(config, 'restaurant-stack locations', log, async (pool) => {
        try {
          const { before, after } = await setLocation(warehouseDbOver(pool), change);
          const describe = (l: typeof after) => `${l.timeZone}, business day from ${l.businessDayStart}${l.name ? `, “${l.name}”` : ''}`;
          const moved = !before || before.timeZone !== after.timeZone || before.businessDayStart !== after.businessDayStart;
          console.log(`${after.code}: ${describe(after)}${before ? ` (was ${describe(before)})` : ' (new)'}${moved ? '; its business days were re-derived' : ''}`);
        } catch (error) {
          if (error instanceof LocationChangeRefused) throw new ConfigError(`locations set ${code}: ${error.message}; nothing was changed`);
          throw error;
        }
      });
    });
  return locations;
}
