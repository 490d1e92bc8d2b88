import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { revenueLast24Hours, type CardDefinition } from '../../metabase/cards.js';
import { MetabaseApiError, MetabaseClient } from '../../metabase/client.js';
import { cardsOf, RESTAURANT_DASHBOARDS, type DashboardDefinition } from '../../metabase/dashboards.js';
import { METABASE_COLLECTION_NAME, provisionMetabase, type MetabaseProvisioningOptions } from '../../metabase/provision.js';
import { FakeMetabase, type FakeMetabaseBehaviour } from './fake-metabase.js';

const admin = { email: 'owner@restaurant.example', password: 'grill-and-tip-2026' };
const warehouse = { host: 'postgres', port: 5432, database: 'restaurant_analytics', readerPassword: 'reader-secret' };
const allCards = cardsOf(RESTAURANT_DASHBOARDS);

const fakes: FakeMetabase[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function startFake(withAdmin?: typeof admin, behaviour?: FakeMetabaseBehaviour): Promise<{ fake: FakeMetabase; url: string }> {
  const fake = new FakeMetabase(withAdmin, behaviour);
  fakes.push(fake);
  return { fake, url: await fake.start() };
}

const provision = (url: string, options: Partial<MetabaseProvisioningOptions> = {}) =>
  provisionMetabase(new MetabaseClient(url), { admin, warehouse, ...options });

/** Everything a re-run must leave alone: which objects exist, and their ids. */
function identities(fake: FakeMetabase) {
  return {
    databases: fake.databases.map(({ id, name }) => ({ id, name })),
    collections: fake.collections.map(({ id, name }) => ({ id, name })),
    cards: fake.cards.map(({ id, name }) => ({ id, name })),
    dashboards: fake.dashboards.map(({ id, name, dashcards }) => ({ id, name, dashcards: dashcards.map((dashcard) => dashcard.id) })),
  };
}

/** A dashboard's cards as the fake holds them: card name and position, in the definition's terms. */
function layoutOf(fake: FakeMetabase, dashboardName: string) {
  const dashboard = fake.dashboards.find((candidate) => candidate.name === dashboardName);
  return dashboard?.dashcards.map(({ card_id, row, col, size_x, size_y }) => ({
    card: fake.cards.find((card) => card.id === card_id)?.name,
    row,
    col,
    sizeX: size_x,
    sizeY: size_y,
  }));
}

const withCardReplaced = (dashboards: readonly DashboardDefinition[], from: CardDefinition, to: CardDefinition): DashboardDefinition[] =>
  dashboards.map((dashboard) => ({ ...dashboard, cards: dashboard.cards.map((placement) => (placement.card === from ? { ...placement, card: to } : placement)) }));

describe('provisioning Metabase (against a fake Metabase that checks the request shapes)', () => {
  it('sets up a new instance and creates the connection, the collection, every card and the three dashboards', async () => {
    const { fake, url } = await startFake();
    const report = await provision(url);

    expect(report.signedIn).toBe('setup');
    expect(fake.admin).toEqual(admin);
    expect(fake.requests).toContain('POST /api/setup');
    expect(fake.requests).not.toContain('POST /api/session');

    expect(fake.databases).toEqual([
      expect.objectContaining({
        engine: 'postgres',
        details: expect.objectContaining({ host: 'postgres', port: 5432, dbname: 'restaurant_analytics', user: 'analytics_reader', password: 'reader-secret' }),
      }),
    ]);
    const shared = fake.collections.filter((collection) => collection.personal_owner_id === null);
    expect(shared).toEqual([expect.objectContaining({ name: METABASE_COLLECTION_NAME, location: '/' })]);
    const [database] = fake.databases;
    const [collection] = shared;

    expect(fake.cards.map((card) => card.name)).toEqual(allCards.map((card) => card.name));
    for (const definition of allCards) {
      expect(fake.cards.find((card) => card.name === definition.name)).toMatchObject({
        display: definition.display,
        description: definition.description,
        collection_id: collection!.id,
        visualization_settings: definition.visualizationSettings,
        dataset_query: { type: 'native', native: { query: definition.sql }, database: database!.id },
      });
    }

    expect(fake.dashboards.map((dashboard) => dashboard.name)).toEqual(['Real-time Sales', 'Performance KPIs', 'Operational Insights']);
    for (const definition of RESTAURANT_DASHBOARDS) {
      expect(layoutOf(fake, definition.name)).toEqual(definition.cards.map(({ card, row, col, sizeX, sizeY }) => ({ card: card.name, row, col, sizeX, sizeY })));
    }
    expect(report.dashboards.map((dashboard) => dashboard.url)).toEqual(fake.dashboards.map((dashboard) => `${url}/dashboard/${dashboard.id}`));
    expect([report.database, report.collection, ...report.cards, ...report.dashboards].every((item) => item.action === 'created')).toBe(true);
  });

  it('signs in on a second run and updates everything in place: nothing is created, no id changes', async () => {
    const { fake, url } = await startFake();
    await provision(url);
    const before = identities(fake);
    fake.requests.splice(0);

    const report = await provision(url);

    expect(report.signedIn).toBe('session');
    expect(identities(fake)).toEqual(before);
    expect(fake.requests.filter((request) => request.startsWith('POST '))).toEqual(['POST /api/session']);
    expect(report.database.action).toBe('updated');
    expect(report.collection.action).toBe('reused');
    expect(new Set([...report.cards, ...report.dashboards].map((item) => item.action))).toEqual(new Set(['updated']));
  });

  it('updates a card whose SQL changed in place, and keeps it on its dashboard', async () => {
    const { fake, url } = await startFake();
    await provision(url);
    const before = identities(fake);

    const changed = { ...revenueLast24Hours, sql: revenueLast24Hours.sql.replace('coalesce(sum(total), 0)', 'coalesce(sum(subtotal + tax + tip), 0)') };
    expect(changed.sql).not.toBe(revenueLast24Hours.sql);
    await provision(url, { dashboards: withCardReplaced(RESTAURANT_DASHBOARDS, revenueLast24Hours, changed) });

    expect(identities(fake)).toEqual(before);
    const card = fake.cards.find((candidate) => candidate.name === revenueLast24Hours.name);
    expect(card?.dataset_query.native.query).toBe(changed.sql);
    expect(layoutOf(fake, 'Real-time Sales')?.[0]?.card).toBe(revenueLast24Hours.name);
  });

  it('makes each dashboard follow its definition: moved cards keep their dashcard, dropped ones are removed', async () => {
    const { fake, url } = await startFake();
    await provision(url);
    const [realTime, ...others] = RESTAURANT_DASHBOARDS;
    const [first, second, ...rest] = realTime!.cards;
    const dashcardOf = (cardName: string) => {
      const cardId = fake.cards.find((card) => card.name === cardName)?.id;
      return fake.dashboards[0]?.dashcards.find((dashcard) => dashcard.card_id === cardId)?.id;
    };
    const keptDashcard = dashcardOf(second!.card.name);

    const rearranged = { ...realTime!, cards: [{ ...second!, col: 0 }, ...rest] };
    await provision(url, { dashboards: [rearranged, ...others] });

    expect(layoutOf(fake, realTime!.name)).toEqual(rearranged.cards.map(({ card, row, col, sizeX, sizeY }) => ({ card: card.name, row, col, sizeX, sizeY })));
    expect(dashcardOf(second!.card.name)).toBe(keptDashcard);
    expect(dashcardOf(first!.card.name)).toBeUndefined();
  });

  it('leaves a personal collection and the root alone, and reuses the shared collection by name', async () => {
    const { fake, url } = await startFake(admin);
    const report = await provision(url);
    const personal = fake.collections.find((collection) => collection.personal_owner_id !== null);
    expect(report.collection.id).not.toBe(personal?.id);
    expect(fake.cards.every((card) => card.collection_id === report.collection.id)).toBe(true);
  });

  it('names the endpoint, the status and Metabase’s message when Metabase refuses', async () => {
    const { url } = await startFake(admin);
    const attempt = provision(url, { admin: { ...admin, password: 'wrong' } });
    await expect(attempt).rejects.toBeInstanceOf(MetabaseApiError);
    await expect(attempt).rejects.toThrow('POST /api/session answered 401: password: did not match stored password');
  });

  it('says which Metabase it could not reach', async () => {
    const { fake, url } = await startFake();
    await fake.close();
    fakes.splice(0);
    await expect(provision(url)).rejects.toThrow(`GET /api/session/properties failed: cannot reach Metabase at ${url}`);
  });
});

interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'metabase-cli-'));
  const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'metabase', ...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, MB_URL: '', MB_ADMIN_EMAIL: '', MB_ADMIN_PASSWORD: '', MB_API_KEY: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    child.on('close', (code) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

describe('restaurant-stack metabase', () => {
  it('provisions from flags and the environment, with the warehouse taken from DATABASE_URL and WAREHOUSE_DATABASE', async () => {
    const { fake, url } = await startFake();
    const run = await runCli(['--url', url, '--admin-email', admin.email], {
      MB_ADMIN_PASSWORD: admin.password,
      ANALYTICS_READER_PASSWORD: 'from-the-environment',
      DATABASE_URL: 'postgres://postgres_admin:secret@warehouse.internal:6543/postgres',
      WAREHOUSE_DATABASE: 'restaurant_analytics',
    });

    expect(run.stderr).not.toMatch(/restaurant-stack:/);
    expect(run.code).toBe(0);
    expect(fake.databases[0]?.details).toMatchObject({ host: 'warehouse.internal', port: 6543, dbname: 'restaurant_analytics', user: 'analytics_reader', password: 'from-the-environment' });
    for (const dashboard of fake.dashboards) expect(run.stdout).toContain(`${url}/dashboard/${dashboard.id}`);
  });

  it('provisions with MB_API_KEY alone, sent as x-api-key, when Metabase is set up', async () => {
    const { fake, url } = await startFake(admin, { apiKey: 'mb_restaurant_key' });
    const run = await runCli(['--url', url, '--reader-password', 'x'], { MB_API_KEY: 'mb_restaurant_key' });

    expect(run.stderr).not.toMatch(/restaurant-stack:/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('metabase: using the API key');
    expect(fake.requests).not.toContain('POST /api/session');
    expect(fake.authenticatedBy).toEqual(new Set(['api-key']));
    expect(fake.dashboards).toHaveLength(RESTAURANT_DASHBOARDS.length);
  });

  it('stops with exit code 2 and names what is missing or wrong', async () => {
    const missing = await runCli(['--admin-email', admin.email, '--reader-password', 'x'], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--admin-password (or MB_ADMIN_PASSWORD) is required, unless MB_API_KEY is given');

    const badPort = await runCli(['--admin-email', admin.email, '--admin-password', 'x', '--reader-password', 'x', '--database-port', 'seventy'], {});
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('invalid --database-port "seventy"');
  });
});
