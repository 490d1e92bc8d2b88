import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { databaseOf, databaseUrl } from '../../warehouse/connect.js';
import { warehouseDatabaseName } from '../../warehouse/database.js';
import { ensureWarehouseDatabase } from '../../warehouse/migrate.js';
import { roleConnectionString } from '../../warehouse/roles.js';

async function adminQuery(text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: inject('postgresAdminUrl') });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe('ensureWarehouseDatabase', () => {
  const suffix = randomBytes(4).toString('hex');
  const warehouseName = `warehouse_${suffix}`;
  const limitedRole = `wh_limited_${suffix}`;
  const limitedPassword = randomBytes(12).toString('hex');
  const limitedHome = `wh_limited_home_${suffix}`;
  const namedWarehouse = `named_${suffix}`;

  beforeAll(async () => {
    await adminQuery(`CREATE ROLE ${limitedRole} LOGIN PASSWORD '${limitedPassword}' NOCREATEDB`);
    await adminQuery(`CREATE DATABASE ${limitedHome} OWNER ${limitedRole}`);
  });
  afterAll(async () => {
    for (const name of [warehouseName, limitedHome, namedWarehouse]) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await adminQuery(`DROP ROLE IF EXISTS ${limitedRole}`);
  });

  it('creates the warehouse database when the role may, once, even when asked concurrently', async () => {
    const adminUrl = inject('postgresAdminUrl');
    const lines: string[] = [];
    const urls = await Promise.all([1, 2, 3].map(() => ensureWarehouseDatabase(adminUrl, warehouseName, (line) => lines.push(line))));

    expect(new Set(urls)).toEqual(new Set([databaseUrl(adminUrl, warehouseName)]));
    expect(lines.filter((line) => line === `database: created ${warehouseName}`)).toHaveLength(1);
    const { rows } = await adminQuery(`SELECT datname FROM pg_database WHERE datname = '${warehouseName}'`);
    expect(rows).toHaveLength(1);
    expect(await ensureWarehouseDatabase(adminUrl, warehouseName)).toBe(databaseUrl(adminUrl, warehouseName));
  });

  it('takes the database a URL names as the warehouse, creating it when the role may', async () => {
    const namedUrl = databaseUrl(inject('postgresAdminUrl'), namedWarehouse);
    const lines: string[] = [];
    expect(await ensureWarehouseDatabase(namedUrl, 'restaurant_analytics', (line) => lines.push(line))).toBe(namedUrl);
    expect(lines).toEqual([`database: created ${namedWarehouse}`]);
    expect(warehouseDatabaseName(namedUrl, 'restaurant_analytics')).toBe(namedWarehouse);
    // The maintenance database names only the server.
    expect(warehouseDatabaseName(databaseUrl(namedUrl, 'postgres'), 'restaurant_analytics')).toBe('restaurant_analytics');
  });

  it('a role that may not create databases: a named database it lacks is an error; an existing one is used', async () => {
    const limitedUrl = roleConnectionString(databaseUrl(inject('postgresAdminUrl'), limitedHome), limitedRole, limitedPassword);
    expect(await ensureWarehouseDatabase(limitedUrl, `absent_${suffix}`)).toBe(limitedUrl);
    await expect(ensureWarehouseDatabase(databaseUrl(limitedUrl, `absent_${suffix}`), 'restaurant_analytics')).rejects.toThrow(
      `database absent_${suffix} (named by the connection string) does not exist, and ${limitedRole} may not create it: create it, or give ${limitedRole} CREATEDB`,
    );
  });

  it('falls back to the database the URL connects to, saying so, when it names no warehouse and the role may not create one', async () => {
    const limitedUrl = roleConnectionString(databaseUrl(inject('postgresAdminUrl'), 'postgres'), limitedRole, limitedPassword);
    const lines: string[] = [];
    expect(await ensureWarehouseDatabase(limitedUrl, `absent_${suffix}`, (line) => lines.push(line))).toBe(limitedUrl);
    expect(lines).toEqual([`database: ${limitedRole} may not create database absent_${suffix}; using database postgres from the URL instead`]);
  });
});

describe('connection strings', () => {
  it('puts a role and a password with URL-special characters into the URL, escaped once', () => {
    const url = roleConnectionString('postgres://admin:secret@db.example:5433/restaurant_analytics?sslmode=require', 'restaurant_etl', 'p@ss:/w%rd#?');
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.username)).toBe('restaurant_etl');
    expect(decodeURIComponent(parsed.password)).toBe('p@ss:/w%rd#?');
    expect(parsed.host).toBe('db.example:5433');
    expect(parsed.searchParams.get('sslmode')).toBe('require');
    expect(databaseOf(url)).toBe('restaurant_analytics');
  });

  it('names the database a URL connects to, defaulting like libpq to the user name', () => {
    expect(databaseOf('postgres://u@h/analytics')).toBe('analytics');
    expect(databaseOf('postgres://restaurant_user@h')).toBe('restaurant_user');
    expect(databaseUrl('postgres://u:p@h:1/postgres', 'restaurant_analytics')).toBe('postgres://u:p@h:1/restaurant_analytics');
  });
});
