import { createIngestionActivities, type IngestionDependencies } from './ingestion/activities.js';
import { createMaintenanceActivities } from './maintenance/activities.js';
import { createReprocessActivities } from './reprocess/activities.js';

export type ActivityDependencies = IngestionDependencies;

/** Every activity the worker registers, grouped by the system they touch. */
export function createActivities(deps: ActivityDependencies) {
  return { ...createIngestionActivities(deps), ...createMaintenanceActivities(deps), ...createReprocessActivities(deps) };
}
