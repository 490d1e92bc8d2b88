import { sql, type Kysely } from 'kysely';

/*
 * What the maintenance schedule finds and does, kept as a history an operator can chart in Metabase
 * (the old DAG's side tasks only logged). ANALYZE needs the table owner, so the worker's ETL role
 * reaches it through a SECURITY DEFINER function in staging, a schema the BI reader cannot see.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE analytics.maintenance_results (
      id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      run_id      text        NOT NULL,
      task        text        NOT NULL CHECK (task IN ('health_check', 'data_consistency', 'raw_retention', 'analyze')),
      status      text        NOT NULL,
      started_at  timestamptz NOT NULL,
      finished_at timestamptz NOT NULL DEFAULT now(),
      details     jsonb       NOT NULL
    );
    CREATE INDEX maintenance_results_task_finished_at ON analytics.maintenance_results (task, finished_at DESC);
    COMMENT ON TABLE analytics.maintenance_results IS 'One row per maintenance task run: health checks, data-quality checks, raw-event retention, ANALYZE';

    CREATE FUNCTION staging.analyze_warehouse() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
      ANALYZE raw_data.events_raw;
      ANALYZE raw_data.events_rejected;
      ANALYZE analytics.orders;
      ANALYZE analytics.order_items;
      ANALYZE analytics.payments;
      ANALYZE analytics.feedback;
    END $$;
    COMMENT ON FUNCTION staging.analyze_warehouse() IS 'Refreshes planner statistics of the ingested tables (run by the maintenance schedule)';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP FUNCTION staging.analyze_warehouse();
    DROP TABLE analytics.maintenance_results;
  `.execute(db);
}
