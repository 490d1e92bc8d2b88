import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE SCHEMA IF NOT EXISTS raw_data;
    COMMENT ON SCHEMA raw_data IS 'Raw event stream: audit trail of every event, rejected events, stream checkpoints';
    CREATE SCHEMA IF NOT EXISTS staging;
    COMMENT ON SCHEMA staging IS 'Child events waiting for their order to land';
    CREATE SCHEMA IF NOT EXISTS analytics;
    COMMENT ON SCHEMA analytics IS 'Facts, reporting views and health functions (read by Metabase)';
  `.execute(db);
}

/** RESTRICT: refuses to drop a schema that still holds objects the later migrations did not create. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP SCHEMA analytics, staging, raw_data RESTRICT`.execute(db);
}
