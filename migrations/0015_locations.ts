import { sql, type Kysely } from 'kysely';

/** The zone of a location whose code names no province we know, unless WAREHOUSE_TIME_ZONE says otherwise. */
export const DEFAULT_WAREHOUSE_TIME_ZONE = 'America/Toronto';

/** The province in a location code (`LOC-ON-007`) and the zone its restaurants keep. */
const PROVINCE_TIME_ZONES: Readonly<Record<string, string>> = {
  ON: 'America/Toronto',
  QC: 'America/Toronto',
  NL: 'America/St_Johns',
  NS: 'America/Halifax',
  NB: 'America/Halifax',
  PE: 'America/Halifax',
  MB: 'America/Winnipeg',
  SK: 'America/Regina',
  AB: 'America/Edmonton',
  BC: 'America/Vancouver',
  YT: 'America/Whitehorse',
  NT: 'America/Edmonton',
  NU: 'America/Iqaluit',
};

/*
 * Restaurant time: each location's IANA zone and the local time its business day starts (a POS back
 * office's cut-off: a bar that serves until 2 am closes its day at 04:00). Every location the warehouse
 * sees gets a row at once (the rollup triggers add it), its zone from the province in its code, else
 * the warehouse's default zone (`analytics.warehouse_settings`, which `migrate` sets from
 * WAREHOUSE_TIME_ZONE). The business day is named by the local date it starts on, so a day runs from
 * one cut-off to the next in local time: 23 or 25 hours across a daylight-saving change.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const provinces = Object.entries(PROVINCE_TIME_ZONES)
    .map(([province, zone]) => `WHEN '${province}' THEN '${zone}'`)
    .join(' ');
  await sql`
    CREATE FUNCTION analytics.is_time_zone(p_name text) RETURNS boolean
    LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = p_name) $$;
    COMMENT ON FUNCTION analytics.is_time_zone(text) IS 'True for a time zone name this PostgreSQL knows (IANA names such as America/Toronto or Asia/Kolkata; not abbreviations or POSIX offsets). Reads the zone files: tens of milliseconds.';

    -- pg_timezone_names reads the zone files on every call (~60 ms): a location's zone is checked against this copy instead.
    CREATE TABLE analytics.time_zones (name text PRIMARY KEY);
    COMMENT ON TABLE analytics.time_zones IS 'The IANA zone names of pg_timezone_names, copied when the warehouse was created; a zone PostgreSQL learns later is added when a location or the default is set to it';
    INSERT INTO analytics.time_zones SELECT name FROM pg_catalog.pg_timezone_names;

    CREATE TABLE analytics.warehouse_settings (
      name       text        PRIMARY KEY,
      value      text        NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT default_time_zone_is_known CHECK (name <> 'default_time_zone' OR analytics.is_time_zone(value))
    );
    COMMENT ON TABLE analytics.warehouse_settings IS 'Settings the warehouse itself uses; default_time_zone (WAREHOUSE_TIME_ZONE, written by migrate) is the zone of a location whose code names no known province';
    INSERT INTO analytics.warehouse_settings (name, value) VALUES ('default_time_zone', ${sql.lit(DEFAULT_WAREHOUSE_TIME_ZONE)});

    CREATE FUNCTION analytics.province_time_zone(p_location_code text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT CASE substring(p_location_code FROM '^LOC-([A-Z]{2})-') ${sql.raw(provinces)} END $$;
    COMMENT ON FUNCTION analytics.province_time_zone(text) IS 'The zone of the Canadian province or territory a location code names (LOC-ON-007: America/Toronto); null for any other';

    CREATE TABLE analytics.locations (
      location_code      text        PRIMARY KEY,
      name               text,
      time_zone          text        NOT NULL CONSTRAINT time_zone_is_known REFERENCES analytics.time_zones (name),
      business_day_start time        NOT NULL DEFAULT '00:00',
      time_zone_source   text        NOT NULL CHECK (time_zone_source IN ('province', 'warehouse default', 'operator')),
      first_seen_at      timestamptz NOT NULL DEFAULT now(),
      updated_at         timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE analytics.locations IS 'Every location the warehouse has seen: its IANA time zone and the local time its business day starts. Change them with restaurant-stack locations set (analytics.set_location), which re-derives the location''s local figures in the same transaction.';
    COMMENT ON COLUMN analytics.locations.time_zone_source IS 'Where the zone came from: the province in the code, the warehouse default (WAREHOUSE_TIME_ZONE), or an operator';

    CREATE FUNCTION analytics.default_time_zone() RETURNS text
    LANGUAGE sql STABLE AS $$
      SELECT coalesce((SELECT value FROM analytics.warehouse_settings WHERE name = 'default_time_zone'), ${sql.lit(DEFAULT_WAREHOUSE_TIME_ZONE)})
    $$;
    COMMENT ON FUNCTION analytics.default_time_zone() IS 'The zone of a location whose code names no known province (WAREHOUSE_TIME_ZONE)';

    CREATE FUNCTION analytics.add_locations(p_location_codes text[]) RETURNS void
    LANGUAGE sql AS $$
      INSERT INTO analytics.locations (location_code, time_zone, time_zone_source)
      SELECT c.code,
             coalesce(analytics.province_time_zone(c.code), analytics.default_time_zone()),
             CASE WHEN analytics.province_time_zone(c.code) IS NULL THEN 'warehouse default' ELSE 'province' END
      FROM (SELECT DISTINCT unnest(p_location_codes) AS code) c
      WHERE c.code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM analytics.locations l WHERE l.location_code = c.code)
      ORDER BY c.code
      ON CONFLICT (location_code) DO NOTHING
    $$;
    COMMENT ON FUNCTION analytics.add_locations(text[]) IS 'Gives each location code not seen before its row: the zone of its province, else the warehouse default, and a business day from midnight';

    CREATE FUNCTION analytics.business_day_of(p_at timestamptz, p_time_zone text, p_business_day_start time) RETURNS date
    LANGUAGE sql IMMUTABLE AS $$ SELECT ((p_at AT TIME ZONE p_time_zone) - p_business_day_start::interval)::date $$;
    COMMENT ON FUNCTION analytics.business_day_of(timestamptz, text, time) IS 'The business day an instant falls in, in a zone whose day starts at the given local time: the local date it started on';

    CREATE FUNCTION analytics.current_business_day(p_location_code text) RETURNS date
    LANGUAGE sql STABLE AS $$
      SELECT analytics.business_day_of(now(), l.time_zone, l.business_day_start) FROM analytics.locations l WHERE l.location_code = p_location_code
    $$;
    COMMENT ON FUNCTION analytics.current_business_day(text) IS 'The business day a location is in now';

    SELECT analytics.add_locations(array_agg(DISTINCT location_code)) FROM analytics.orders;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP FUNCTION analytics.current_business_day(text);
    DROP FUNCTION analytics.business_day_of(timestamptz, text, time);
    DROP FUNCTION analytics.add_locations(text[]);
    DROP FUNCTION analytics.default_time_zone();
    DROP TABLE analytics.locations;
    DROP FUNCTION analytics.province_time_zone(text);
    DROP TABLE analytics.warehouse_settings;
    DROP TABLE analytics.time_zones;
    DROP FUNCTION analytics.is_time_zone(text);
  `.execute(db);
}
