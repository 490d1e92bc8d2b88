import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { warehouseMigrations } from '../../migrations/index.js';
import { migrateWarehouse } from '../../warehouse/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

const allMigrations = Object.keys(warehouseMigrations);

async function query<Row extends Record<string, unknown>>(url: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const relations = (url: string) =>
  query<{ name: string; kind: string }>(
    url,
    `SELECT n.nspname || '.' || c.relname AS name, c.relkind::text AS kind
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('raw_data', 'staging', 'analytics') AND c.relkind IN ('r', 'v')
     ORDER BY 1`,
  );

const columnsOf = async (url: string, schema: string, table: string) =>
  (
    await query<{ column_name: string }>(
      url,
      'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
      [schema, table],
    )
  ).map((row) => row.column_name);

describe('migrateWarehouse', () => {
  let database: TestDatabase;
  const lines: string[] = [];
  beforeAll(async () => {
    database = await createTestDatabase('migrate');
  });
  afterAll(async () => database?.drop());

  it('applies every migration in order on a fresh database and reports them', async () => {
    const report = await migrateWarehouse({ connectionString: database.url, log: (line) => lines.push(line) });

    expect(report.applied).toEqual(allMigrations.map((name) => ({ name, direction: 'up' })));
    expect(report.current).toBe(allMigrations.at(-1));
    expect(report.database).toBe(database.name);
    for (const name of allMigrations) expect(lines).toContain(`migrate: applied ${name}`);
    // Later migrations may add relations of their own: these are the ones the issue asks for.
    const expected = [
      { name: 'analytics.audit_log', kind: 'r' },
      { name: 'analytics.daily_sales', kind: 'v' },
      { name: 'analytics.feedback', kind: 'r' },
      { name: 'analytics.hourly_sales', kind: 'v' },
      { name: 'analytics.ingestion_status', kind: 'v' },
      { name: 'analytics.menu_performance', kind: 'v' },
      { name: 'analytics.order_items', kind: 'r' },
      { name: 'analytics.orders', kind: 'r' },
      { name: 'analytics.payments', kind: 'r' },
      { name: 'analytics.satisfaction_summary', kind: 'v' },
      { name: 'raw_data.events_raw', kind: 'r' },
      { name: 'raw_data.events_rejected', kind: 'r' },
      { name: 'raw_data.source_epochs', kind: 'r' },
      { name: 'raw_data.stream_checkpoints', kind: 'r' },
      { name: 'staging.pending_children', kind: 'r' },
    ];
    expect(await relations(database.url)).toEqual(expect.arrayContaining(expected));
  });

  it('keeps the old stack’s column names, so existing Metabase questions keep working', async () => {
    const old: Record<string, string[]> = {
      hourly_sales: ['hour', 'location_code', 'service_type', 'order_count', 'subtotal', 'tax', 'tip', 'total', 'avg_order_value'],
      daily_sales: ['day', 'location_code', 'order_count', 'total_revenue', 'avg_order_value', 'total_tips', 'avg_tip'],
      menu_performance: ['category', 'item_name', 'times_ordered', 'total_quantity_sold', 'total_revenue', 'avg_unit_price', 'avg_extended_price'],
      satisfaction_summary: ['day', 'feedback_count', 'avg_rating', 'avg_nps', 'satisfaction_rate', 'promoter_rate', 'detractor_rate'],
      orders: ['order_id', 'visit_id', 'service_type', 'order_ts', 'location_code', 'subtotal', 'tax', 'tip', 'total', 'created_at', 'updated_at'],
      order_items: ['order_item_id', 'order_id', 'menu_item_id', 'category', 'item_name', 'unit_price', 'qty', 'extended_price', 'created_at'],
      payments: ['payment_id', 'order_id', 'method', 'provider', 'amount', 'auth_code', 'processed_at'],
      feedback: ['feedback_id', 'order_id', 'customer_id', 'rating', 'nps', 'comment', 'created_ts', 'processed_at'],
      audit_log: ['id', 'timestamp', 'user_name', 'operation', 'table_name', 'record_id', 'old_values', 'new_values', 'details'],
    };
    for (const [table, columns] of Object.entries(old)) expect(await columnsOf(database.url, 'analytics', table)).toEqual(columns);
    const raw = await columnsOf(database.url, 'raw_data', 'events_raw');
    expect(raw.slice(0, 8)).toEqual(['event_offset', 'event_id', 'event_type', 'ts', 'partition_key', 'payload', 'ingested_at', 'ingested_by']);
  });

  it('keeps only the measured indexes on the ingest path', async () => {
    const indexes = await query<{ table: string; index: string }>(
      database.url,
      `SELECT schemaname || '.' || tablename AS table, indexname AS index FROM pg_indexes
       WHERE schemaname IN ('raw_data', 'analytics', 'staging') AND tablename IN ('events_raw', 'orders', 'order_items', 'payments', 'feedback', 'audit_log')
       ORDER BY 1, 2`,
    );
    expect(indexes.map((row) => `${row.table} ${row.index}`)).toEqual([
      'analytics.audit_log audit_log_pkey',
      'analytics.feedback feedback_created_ts_brin',
      'analytics.feedback feedback_order_id',
      'analytics.feedback feedback_pkey',
      'analytics.order_items order_items_order_id',
      'analytics.order_items order_items_pkey',
      'analytics.orders orders_order_ts_brin',
      'analytics.orders orders_pkey',
      'analytics.payments payments_order_id',
      'analytics.payments payments_pkey',
      'raw_data.events_raw events_raw_ingested_at_brin',
      'raw_data.events_raw events_raw_pkey',
      'raw_data.events_raw events_raw_ts_brin',
    ]);
  });

  it('is a no-op the second time', async () => {
    const log: string[] = [];
    const report = await migrateWarehouse({ connectionString: database.url, log: (line) => log.push(line) });

    expect(report.applied).toEqual([]);
    expect(report.current).toBe(allMigrations.at(-1));
    expect(log).toContain(`migrate: ${database.name} is already at ${allMigrations.at(-1)}; nothing to do`);
  });

  it('steps down and up again, and resets to nothing', async () => {
    const functions = async () =>
      (
        await query<{ name: string }>(
          database.url,
          `SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'analytics' ORDER BY 1`,
        )
      ).map((row) => row.name);
    const reporting = ['audit_changes', 'calculate_order_metrics', 'get_latest_offset', 'health_check', 'validate_data_consistency'];
    expect(await functions()).toEqual(expect.arrayContaining(reporting));

    const down = await migrateWarehouse({ connectionString: database.url, direction: 'down' });
    expect(down.applied).toEqual([{ name: allMigrations.at(-1), direction: 'down' }]);
    expect(down.current).toBe(allMigrations.at(-2));
    expect(down.roles).toEqual([]);

    // Down to just before the health functions, one step at a time: they go, the audit trigger function stays.
    let current = down.current;
    while (current !== '0006_reporting_views') current = (await migrateWarehouse({ connectionString: database.url, direction: 'down' })).current;
    expect(await functions()).toEqual(['audit_changes']);

    const up = await migrateWarehouse({ connectionString: database.url, direction: 'up' });
    expect(up.applied).toEqual([{ name: '0007_health_functions', direction: 'up' }]);
    const latest = await migrateWarehouse({ connectionString: database.url });
    expect(latest.applied.map((migration) => migration.name)).toEqual(allMigrations.slice(allMigrations.indexOf('0007_health_functions') + 1));
    expect(await functions()).toEqual(expect.arrayContaining(reporting));

    const reset = await migrateWarehouse({ connectionString: database.url, direction: 'reset' });
    expect(reset.applied).toEqual([...allMigrations].reverse().map((name) => ({ name, direction: 'down' })));
    expect(reset.current).toBeUndefined();
    const schemas = await query(database.url, `SELECT 1 FROM pg_namespace WHERE nspname IN ('raw_data', 'staging', 'analytics')`);
    expect(schemas).toEqual([]);

    const again = await migrateWarehouse({ connectionString: database.url });
    expect(again.applied).toHaveLength(allMigrations.length);
  });
});

describe('migrateWarehouse run concurrently', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('migrate_concurrent');
  });
  afterAll(async () => database?.drop());

  it('applies each migration exactly once while the others wait', async () => {
    const logs: string[][] = [[], [], [], []];
    const reports = await Promise.all(
      logs.map((log) => migrateWarehouse({ connectionString: database.url, log: (line) => log.push(line) })),
    );

    const applied = reports.flatMap((report) => report.applied.map((migration) => migration.name));
    expect(applied).toEqual(allMigrations);
    expect(reports.filter((report) => report.applied.length > 0)).toHaveLength(1);
    expect(reports.every((report) => report.current === allMigrations.at(-1))).toBe(true);
    expect(logs.flat().filter((line) => line.includes('waiting for it')).length).toBeGreaterThanOrEqual(1);
  });
});
