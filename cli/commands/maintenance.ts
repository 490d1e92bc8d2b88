import { Command } from 'commander';
import { withTemporalClient } from '../with-temporal.js';

export function maintenanceCommand(): Command {
  const maintenance = new Command('maintenance').description(
    'The maintenance Schedule: health and data-quality checks, raw-event retention, ANALYZE (results in analytics.maintenance_results). Pause it with `temporal schedule toggle --schedule-id restaurant_maintenance --pause`.',
  );
  maintenance
    .command('schedule')
    .description('Create the Schedule, or update it to MAINTENANCE_INTERVAL_MINUTES and the retention settings (`up` does this).')
    .action(async () =>
      withTemporalClient(async (client, config) => {
        const { ensureMaintenanceSchedule } = await import('../../clients/maintenance-schedule.js');
        const { scheduleId, created } = await ensureMaintenanceSchedule(client, config);
        console.log(`${created ? 'created' : 'updated'} schedule ${scheduleId}: every ${config.MAINTENANCE_INTERVAL_MINUTES} min, raw retention ${config.RAW_RETENTION_DAYS} days`);
      }),
    );
  maintenance
    .command('run-now')
    .description('Run maintenance now, outside its interval.')
    .action(async () =>
      withTemporalClient(async (client, config) => {
        const { triggerMaintenance } = await import('../../clients/maintenance-schedule.js');
        await triggerMaintenance(client, config);
        console.log(`triggered ${config.MAINTENANCE_SCHEDULE_ID}; results land in analytics.maintenance_results`);
      }),
    );
  return maintenance;
}
