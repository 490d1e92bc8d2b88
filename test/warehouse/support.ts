import type { Kysely } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createWarehouseDb } from '../../warehouse/connect.js';
import { migrateWarehouse } from '../../warehouse/migrate.js';
import type { WarehouseDatabase } from '../../warehouse/schema.js';

export interface MigratedWarehouse {
  readonly database: TestDatabase;
  /** Superuser Kysely over the migrated database; sessions run in UTC so day/hour buckets are predictable. */
  readonly db: Kysely<WarehouseDatabase>;
  close(): Promise<void>;
}

export function inUtc(url: string): string {
  const withZone = new URL(url);
  withZone.searchParams.set('options', '-c TimeZone=UTC');
  return withZone.toString();
}

/** A fresh database on the shared test server, migrated to the latest warehouse schema (no role passwords). */
export async function migratedWarehouse(label: string): Promise<MigratedWarehouse> {
  const database = await createTestDatabase(label);
  await migrateWarehouse({ connectionString: database.url });
  const db = createWarehouseDb(inUtc(database.url), { maxConnections: 4 });
  return {
    database,
    db,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

/** Money as integer cents in tests, as numeric(12,2) text in the database. */
export const money = (cents: number): string => {
  const sign = cents < 0 ? '-' : '';
  const magnitude = Math.abs(cents);
  return `${sign}${Math.trunc(magnitude / 100)}.${String(magnitude % 100).padStart(2, '0')}`;
};

/** PostgreSQL's round(x, 2) on a non-negative ratio given in hundredths: half away from zero. */
export const hundredths = (numerator: number, denominator: number): string => money(Math.round(numerator / denominator));
