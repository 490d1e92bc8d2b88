import { Context } from '@temporalio/activity';
import type pg from 'pg';
import type { MaintenanceOutcome, MaintenanceTask, RetentionRequest } from '../../contracts/maintenance.js';

interface ConsistencyRow extends Record<string, unknown> {
  check_name: string;
  status: string;
  issue_count: string;
  details: string;
  sample_ids: string[];
}

/** Each fold is its own short transaction; a run that meets more (a first run on a long history) leaves them to the next. */
const MAX_FOLDS_PER_RUN = 2_000;

/**
 * The maintenance schedule's activities: each does its task, records the result with its time in
 * analytics.maintenance_results, and returns a one-line summary.
 */
export function createMaintenanceActivities(deps: { db: pg.Pool }) {
  const { db } = deps;

  async function record(runId: string, task: MaintenanceTask, startedAt: Date, status: string, details: unknown): Promise<void> {
    await db.query('INSERT INTO analytics.maintenance_results (run_id, task, status, started_at, details) VALUES ($1, $2, $3, $4, $5)', [
      runId,
      task,
      status,
      startedAt,
      JSON.stringify(details),
    ]);
  }

  return {
    async checkWarehouseHealth(runId: string): Promise<MaintenanceOutcome> {
      const startedAt = new Date();
      const { rows } = await db.query<{ report: { status: string } & Record<string, unknown> }>('SELECT analytics.health_check() AS report');
      const report = rows[0]!.report;
      await record(runId, 'health_check', startedAt, report.status, report);
      return { task: 'health_check', status: report.status, summary: `warehouse health: ${report.status}` };
    },

    async checkDataConsistency(runId: string): Promise<MaintenanceOutcome> {
      const startedAt = new Date();
      const { rows } = await db.query<ConsistencyRow>('SELECT check_name, status, issue_count, details, sample_ids FROM analytics.validate_data_consistency()');
      const failing = rows.filter((row) => row.status !== 'OK');
      const status = failing.length === 0 ? 'ok' : 'warning';
      await record(runId, 'data_consistency', startedAt, status, { checks: rows.map((row) => ({ ...row, issue_count: Number(row.issue_count) })) });
      const summary = failing.length === 0 ? 'all data-quality checks pass' : failing.map((row) => `${row.check_name}: ${row.issue_count}`).join(', ');
      return { task: 'data_consistency', status, summary };
    },

    /** Deletes raw events past retention in bounded chunks, heartbeating between them. */
    async applyRawRetention(request: RetentionRequest): Promise<MaintenanceOutcome> {
      const startedAt = new Date();
      const context = Context.current();
      const cutoff = new Date(startedAt.getTime() - request.days * 86_400_000);
      let deleted = 0;
      let chunks = 0;
      let finished = false;
      while (chunks < request.maxChunks && !context.cancellationSignal.aborted) {
        const { rowCount } = await db.query(
          `DELETE FROM raw_data.events_raw
           WHERE ctid = ANY (ARRAY(SELECT ctid FROM raw_data.events_raw WHERE ingested_at < $1 LIMIT $2))`,
          [cutoff, request.chunkRows],
        );
        chunks += 1;
        deleted += rowCount ?? 0;
        context.heartbeat({ deleted, chunks });
        if ((rowCount ?? 0) < request.chunkRows) {
          finished = true;
          break;
        }
        // A breath between chunks keeps the ingest writer's transactions from queueing behind ours.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const status = finished ? 'ok' : 'partial';
      await record(request.runId, 'raw_retention', startedAt, status, { cutoff, retention_days: request.days, deleted, chunks, chunk_rows: request.chunkRows, finished });
      return { task: 'raw_retention', status, summary: `deleted ${deleted} raw events ingested before ${cutoff.toISOString()} in ${chunks} chunks${finished ? '' : ' (more next run)'}` };
    },

    /**
     * Folds what the rollups no longer need apart: the write slots of closed days, and the menu's days of
     * closed months (analytics.rollups_closed_before(): two days ago), one short transaction each
     * (writers wait for it, briefly).
     * All-time and long-range cards then read one row per key and period however many writers there were.
     */
    async foldRollups(runId: string): Promise<MaintenanceOutcome> {
      const startedAt = new Date();
      const context = Context.current();
      const { rows: due } = await db.query<{ kind: 'slots' | 'menu month'; period: string }>(
        'SELECT kind, period::text AS period FROM analytics.rollup_folds_due()',
      );
      const folded = { slots: 0, 'menu month': 0 };
      let rowsWritten = 0;
      for (const { kind, period } of due.slice(0, MAX_FOLDS_PER_RUN)) {
        if (context.cancellationSignal.aborted) break;
        const { rows } = await db.query<{ written: string }>(
          kind === 'slots' ? 'SELECT analytics.fold_rollup_slots($1) AS written' : 'SELECT analytics.fold_menu_month($1) AS written',
          [period],
        );
        rowsWritten += Number(rows[0]!.written);
        folded[kind] += 1;
        context.heartbeat(folded);
      }
      const remaining = due.length - folded.slots - folded['menu month'];
      const details = { days_folded: folded.slots, menu_months_folded: folded['menu month'], rows_written: rowsWritten, remaining };
      await record(runId, 'rollup_folding', startedAt, remaining === 0 ? 'ok' : 'partial', details);
      return {
        task: 'rollup_folding',
        status: remaining === 0 ? 'ok' : 'partial',
        summary: `folded the write slots of ${folded.slots} days and ${folded['menu month']} menu months into ${rowsWritten} rows${remaining ? ` (${remaining} more next run)` : ''}`,
      };
    },

    async analyzeWarehouse(runId: string): Promise<MaintenanceOutcome> {
      const startedAt = new Date();
      await db.query('SELECT staging.analyze_warehouse()');
      const seconds = (Date.now() - startedAt.getTime()) / 1000;
      await record(runId, 'analyze', startedAt, 'ok', { seconds });
      return { task: 'analyze', status: 'ok', summary: `planner statistics refreshed in ${seconds.toFixed(1)} s` };
    },
  };
}
