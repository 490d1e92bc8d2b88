/** What the maintenance workflow, its activities and its Schedule agree on. */
export const MAINTENANCE_WORKFLOW_TYPE = 'restaurantMaintenance';

export interface MaintenanceInput {
  retentionDays: number;
  retentionChunkRows: number;
  retentionMaxChunks: number;
}

export type MaintenanceTask = 'health_check' | 'data_consistency' | 'raw_retention' | 'rollup_folding' | 'analyze';

/** What each maintenance activity hands back to the workflow (the full details stay in the warehouse). */
export interface MaintenanceOutcome {
  task: MaintenanceTask;
  status: string;
  summary: string;
}

export interface RetentionRequest {
  runId: string;
  /** Raw events ingested longer ago than this are deleted. */
  days: number;
  /** Rows per DELETE: each chunk is its own short transaction, so ingestion never waits long. */
  chunkRows: number;
  /** Upper bound of chunks in one run; the next run continues. */
  maxChunks: number;
}
