import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { locationCode } from '../events/fields.js';
import { pgErrorCode, errorMessage } from './pg-errors.js';
import type { LocationsTable, WarehouseDatabase } from './schema.js';

/** Each field of a location change, validated where it is given (the zone is checked by PostgreSQL, which does the arithmetic). */
export const locationFields = {
  code: locationCode,
  timeZone: z.string().trim().min(1, { error: 'must not be empty' }),
  /** A business day's local start, as a POS back office sets it. */
  businessDayStart: z.string().trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'a local time HH:MM from 00:00 to 23:59, e.g. 04:00' }),
  name: z.string().trim().min(1, { error: 'must not be empty' }).max(200, { error: 'at most 200 characters' }),
};

/** What `locations set` changes; an absent field stays as it is. */
export interface LocationChange {
  readonly code: string;
  readonly timeZone?: string;
  readonly businessDayStart?: string;
  readonly name?: string;
}

export interface RestaurantLocation {
  readonly code: string;
  readonly name: string | null;
  readonly timeZone: string;
  readonly timeZoneSource: LocationsTable['time_zone_source'];
  /** HH:MM local. */
  readonly businessDayStart: string;
  /** The business day the location is in now, YYYY-MM-DD. */
  readonly currentBusinessDay: string;
  /** The location's wall clock now, YYYY-MM-DD HH:MM. */
  readonly localTime: string;
}

/** A change PostgreSQL refused as a bad value (an unknown zone, a malformed code): the operator's to fix. */
export class LocationChangeRefused extends Error {
  override name = 'LocationChangeRefused';
}

function locations(db: Kysely<WarehouseDatabase>) {
  return db
    .selectFrom('analytics.locations')
    .select([
      'location_code as code',
      'name',
      'time_zone as timeZone',
      'time_zone_source as timeZoneSource',
      sql<string>`to_char(business_day_start, 'HH24:MI')`.as('businessDayStart'),
      sql<string>`analytics.business_day_of(now(), time_zone, business_day_start)::text`.as('currentBusinessDay'),
      sql<string>`to_char(now() AT TIME ZONE time_zone, 'YYYY-MM-DD HH24:MI')`.as('localTime'),
    ])
    .orderBy('location_code');
}

export async function listLocations(db: Kysely<WarehouseDatabase>): Promise<RestaurantLocation[]> {
  return locations(db).execute();
}

/**
 * Applies a change with analytics.set_location: in one transaction, with every rollup writer held back
 * meanwhile, the location's business days are re-derived when its zone or cut-off changed. A code the
 * warehouse has not seen yet gets its row (its orders will find it). Returns the location before and after.
 */
export async function setLocation(db: Kysely<WarehouseDatabase>, change: LocationChange): Promise<{ before: RestaurantLocation | undefined; after: RestaurantLocation }> {
  const before = await locations(db).where('location_code', '=', change.code).executeTakeFirst();
  try {
    await sql`SELECT analytics.set_location(${change.code}, ${change.timeZone ?? null}, ${change.businessDayStart ?? null}::time, ${change.name ?? null})`.execute(db);
  } catch (error) {
    if (pgErrorCode(error) === '22023') throw new LocationChangeRefused(errorMessage(error));
    throw error;
  }
  return { before, after: await locations(db).where('location_code', '=', change.code).executeTakeFirstOrThrow() };
}
