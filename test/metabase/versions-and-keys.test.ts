import { afterEach, describe, expect, it } from 'vitest';
import { MetabaseApiError, MetabaseClient } from '../../metabase/client.js';
import { RESTAURANT_DASHBOARDS } from '../../metabase/dashboards.js';
import { provisionMetabase, type MetabaseProvisioningOptions } from '../../metabase/provision.js';
import { setupPasswordProblem } from '../../metabase/setup-password.js';
import { releaseLine } from '../../metabase/version.js';
import { FakeMetabase, type FakeMetabaseBehaviour } from './fake-metabase.js';

const admin = { email: 'owner@restaurant.example', password: 'grill-and-tip-2026' };
const warehouse = { host: 'postgres', port: 5432, database: 'restaurant_analytics', readerPassword: 'reader-secret' };
const API_KEY = 'mb_AbCdEf0123456789restaurant';

const fakes: FakeMetabase[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function startFake(withAdmin: typeof admin | undefined, behaviour: FakeMetabaseBehaviour): Promise<{ fake: FakeMetabase; url: string }> {
  const fake = new FakeMetabase(withAdmin, behaviour);
  fakes.push(fake);
  return { fake, url: await fake.start() };
}

const provision = (client: MetabaseClient, options: Partial<MetabaseProvisioningOptions> = {}) => provisionMetabase(client, { admin, warehouse, ...options });
const dashcardCount = (fake: FakeMetabase) => fake.dashboards.reduce((sum, dashboard) => sum + dashboard.dashcards.length, 0);

describe('Metabase versions', () => {
  it('reads the release line of open-source and Enterprise tags', () => {
    expect(releaseLine('v0.50.36')).toBe(50);
    expect(releaseLine('v1.49.2')).toBe(49);
    expect(releaseLine('v0.47.0-RC1')).toBe(47);
    expect(releaseLine('vUNKNOWN')).toBeUndefined();
  });

  it('on v0.47, whose PUT /api/dashboard/:id ignores the cards, stops before changing anything and says to upgrade', async () => {
    const { fake, url } = await startFake(admin, { version: 'v0.47.9' });
    await expect(provision(new MetabaseClient(url))).rejects.toThrow('Metabase v0.47.9 is older than v0.48, the oldest this provisioning supports');
    expect(fake.requests).toEqual(['GET /api/session/properties']);
  });

  it('the fake plays v0.47 truthfully: the same dashboard update leaves it empty', async () => {
    const { fake, url } = await startFake(admin, { version: 'v0.47.9' });
    const client = new MetabaseClient(url);
    await client.login(admin.email, admin.password);
    const database = await client.createDatabase({ name: 'w', engine: 'postgres', details: { host: 'h', port: 5432, dbname: 'd', user: 'u', password: 'p', ssl: false, 'schema-filters-type': 'inclusion', 'schema-filters-patterns': 'analytics' } });
    const card = await client.createCard({ name: 'c', description: 'd', display: 'scalar', visualization_settings: {}, collection_id: 1, dataset_query: { type: 'native', native: { query: 'select 1', 'template-tags': {} }, database: database.id } });
    const dashboard = await client.createDashboard({ name: 'd', description: '', collection_id: 1 });
    const dashcard = { id: -1, card_id: card.id, row: 0, col: 0, size_x: 4, size_y: 3, parameter_mappings: [], series: [], visualization_settings: {} } as const;
    await client.updateDashboard(dashboard.id, { name: 'd', description: '', collection_id: 1, dashcards: [dashcard] });
    expect(dashcardCount(fake)).toBe(0);
  });

  it.for(['v0.48.0', 'v1.50.36'])('provisions %s completely', async (version) => {
    const { fake, url } = await startFake(undefined, { version });
    const report = await provision(new MetabaseClient(url));
    expect(report.signedIn).toBe('setup');
    expect(dashcardCount(fake)).toBe(RESTAURANT_DASHBOARDS.reduce((sum, dashboard) => sum + dashboard.cards.length, 0));
  });
});

describe('Metabase API keys (MB_API_KEY)', () => {
  it('provisions a set-up instance with the key alone: x-api-key on every call, no sign-in', async () => {
    const { fake, url } = await startFake(admin, { apiKey: API_KEY });
    const report = await provision(new MetabaseClient(url, API_KEY), { admin: undefined });
    expect(report.signedIn).toBe('api-key');
    expect(fake.requests).not.toContain('POST /api/session');
    expect(fake.authenticatedBy).toEqual(new Set(['api-key']));
    expect(fake.dashboards).toHaveLength(RESTAURANT_DASHBOARDS.length);
  });

  it('says a key cannot set up a new instance', async () => {
    const { fake, url } = await startFake(undefined, { apiKey: API_KEY });
    await expect(provision(new MetabaseClient(url, API_KEY), { admin: undefined })).rejects.toThrow('Metabase is not set up yet, and an API key cannot set it up');
    expect(fake.requests).toEqual(['GET /api/session/properties']);
  });

  it('refuses a key on v0.48, which has none, naming v0.49', async () => {
    const { url } = await startFake(admin, { version: 'v0.48.4', apiKey: API_KEY });
    await expect(provision(new MetabaseClient(url, API_KEY), { admin: undefined })).rejects.toThrow('Metabase v0.48.4 has no API keys (they came in v0.49)');
  });

  it('reports a key Metabase refuses with the endpoint and its answer', async () => {
    const { url } = await startFake(admin, { apiKey: API_KEY });
    const refused = provision(new MetabaseClient(url, 'mb_wrong'), { admin: undefined });
    await expect(refused).rejects.toBeInstanceOf(MetabaseApiError);
    await expect(refused).rejects.toThrow('GET /api/database answered 401: Unauthenticated');
  });
});

describe('the new admin’s password', () => {
  it.for([
    ['grill', 'it has 5 characters; Metabase needs at least 6'],
    ['grill-and-tip', 'it has no digit; Metabase needs at least one'],
    ['Password1', 'it is a common password, which Metabase refuses'],
  ])('refuses %s before calling Metabase: %s', async ([password, why]) => {
    expect(setupPasswordProblem(password!)).toBe(why);
    const { fake, url } = await startFake(undefined, {});
    await expect(provision(new MetabaseClient(url), { admin: { email: admin.email, password: password! } })).rejects.toThrow(
      `MB_ADMIN_PASSWORD cannot be the new Metabase admin's password: ${why}`,
    );
    expect(fake.requests).not.toContain('POST /api/setup');
  });

  it('does not judge an existing admin’s password: signing in is Metabase’s business', async () => {
    const existing = { email: admin.email, password: 'short' };
    const { url } = await startFake(existing, {});
    expect((await provision(new MetabaseClient(url), { admin: existing })).signedIn).toBe('session');
  });
});
