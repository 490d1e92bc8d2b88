import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';
import type { StackConfig } from '../config/env.js';
import { MAINTENANCE_WORKFLOW_TYPE, type MaintenanceInput } from '../contracts/maintenance.js';

function scheduleOptions(config: StackConfig): ScheduleOptions {
  const input: MaintenanceInput = {
    retentionDays: config.RAW_RETENTION_DAYS,
    retentionChunkRows: config.RETENTION_CHUNK_ROWS,
    retentionMaxChunks: config.RETENTION_MAX_CHUNKS,
  };
  return {
    scheduleId: config.MAINTENANCE_SCHEDULE_ID,
    spec: { intervals: [{ every: `${config.MAINTENANCE_INTERVAL_MINUTES} minutes` }] },
    action: {
      type: 'startWorkflow',
      workflowType: MAINTENANCE_WORKFLOW_TYPE,
      workflowId: config.MAINTENANCE_SCHEDULE_ID,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input],
    },
    // A run that is still going when the next is due is not doubled up.
    policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
    state: { note: 'Data-quality and health checks, raw-event retention and ANALYZE; results in analytics.maintenance_results.' },
  };
}

/**
 * Creates the maintenance Schedule, or brings an existing one up to date with the configuration
 * (interval, retention) while keeping whether an operator paused it.
 */
export async function ensureMaintenanceSchedule(client: Client, config: StackConfig): Promise<{ scheduleId: string; created: boolean }> {
  const options = scheduleOptions(config);
  try {
    await client.schedule.create(options);
    return { scheduleId: options.scheduleId, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(options.scheduleId).update((previous) => ({
    ...previous,
    spec: options.spec,
    action: options.action,
    policies: { ...previous.policies, ...options.policies },
  }));
  return { scheduleId: options.scheduleId, created: false };
}

/** Runs maintenance now, outside the interval. */
export async function triggerMaintenance(client: Client, config: StackConfig): Promise<void> {
  await client.schedule.getHandle(config.MAINTENANCE_SCHEDULE_ID).trigger();
}
