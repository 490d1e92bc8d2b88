import pg from 'pg';
import { migrateWarehouse } from '../../warehouse/migrate.js';
import { createTestDatabase, type TestDatabase } from './database.js';

/** A fresh database with the warehouse schema migrated in, and a pool on it. */
export async function createMigratedWarehouse(label: string): Promise<TestDatabase & { pool: pg.Pool; close(): Promise<void> }> {
  const database = await createTestDatabase(label);
  await migrateWarehouse({ connectionString: database.url });
  const pool = new pg.Pool({ connectionString: database.url, max: 6 });
  pool.on('error', () => undefined);
  return {
    ...database,
    pool,
    async close() {
      await pool.end();
      await database.drop();
    },
  };
}

/** Polls a SQL count until `done` says so, for assertions on what ingestion has committed. */
export async function waitForRows(pool: pg.Pool, sql: string, done: (count: number) => boolean, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ n: string }>(sql);
    const count = Number(rows[0]?.n ?? 0);
    if (done(count)) return count;
    if (Date.now() > deadline) throw new Error(`timed out: ${sql} stayed at ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
