import { ActivityFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { MaintenanceOutcome } from '../contracts/maintenance.js';
import type { createMaintenanceActivities } from '../activities/maintenance/activities.js';
import type { MaintenanceInput } from '../contracts/maintenance.js';

type MaintenanceActivities = ReturnType<typeof createMaintenanceActivities>;

const checks = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3 },
});
const retention = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

const FOLD_ROLLUPS_PATCH = 'fold-rollups';

/**
 * `restaurant_maintenance`, run by a Temporal Schedule: health and data-quality checks, raw-event
 * retention in bounded chunks, folding the rollups of closed periods, and fresh planner statistics — each result recorded in
 * analytics.maintenance_results. A failing task is recorded as such and does not stop the others.
 */
export async function restaurantMaintenance(input: MaintenanceInput): Promise<MaintenanceOutcome[]> {
  const runId = `${workflowInfo().workflowId}/${workflowInfo().runId}`;
  const tasks: Array<[MaintenanceOutcome['task'], () => Promise<MaintenanceOutcome>]> = [
    ['health_check', () => checks.checkWarehouseHealth(runId)],
    ['data_consistency', () => checks.checkDataConsistency(runId)],
    ['raw_retention', () => retention.applyRawRetention({ runId, days: input.retentionDays, chunkRows: input.retentionChunkRows, maxChunks: input.retentionMaxChunks })],
    ['analyze', () => checks.analyzeWarehouse(runId)],
  ];
  // A run started before rollup folding existed replays without it.
  if (patched(FOLD_ROLLUPS_PATCH)) tasks.splice(3, 0, ['rollup_folding', () => retention.foldRollups(runId)]);
  const outcomes: MaintenanceOutcome[] = [];
  for (const [task, run] of tasks) {
    try {
      outcomes.push(await run());
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : error;
      outcomes.push({ task, status: 'failed', summary: cause instanceof Error ? cause.message : String(cause) });
    }
  }
  return outcomes;
}
