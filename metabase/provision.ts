import { ANALYTICS_READER_ROLE } from '../warehouse/roles.js';
import type { CardDefinition } from './cards.js';
import type { CardRequest, CollectionItem, MetabaseClient, MetabaseCollection, PostgresDetails } from './client.js';
import { dashcardsFor } from './dashcards.js';
import { setupPasswordProblem } from './setup-password.js';
import { assertSupportedVersion } from './version.js';
import { cardsOf, RESTAURANT_DASHBOARDS, type DashboardDefinition } from './dashboards.js';

export const METABASE_DATABASE_NAME = 'Restaurant Analytics warehouse';
export const METABASE_COLLECTION_NAME = 'Restaurant Analytics';
const SITE_NAME = 'Restaurant Analytics';
/** Metabase syncs (and shows in its data browser) only this schema: the facts and the views. */
const SYNCED_SCHEMA = 'analytics';

export interface MetabaseProvisioningOptions {
  /** Signs in, or sets up a new instance; not needed when the client has an API key for a set-up instance. */
  readonly admin?: { readonly email: string; readonly password: string };
  /** The warehouse as Metabase reaches it; Metabase logs in as analytics_reader. */
  readonly warehouse: { readonly host: string; readonly port: number; readonly database: string; readonly readerPassword: string };
  readonly dashboards?: readonly DashboardDefinition[];
  readonly log?: (line: string) => void;
}

/** `reused`: found by name and left as it is (the collection). */
export type ProvisioningAction = 'created' | 'updated' | 'reused';

export interface ProvisionedItem {
  readonly name: string;
  readonly id: number;
  readonly action: ProvisioningAction;
}

export interface MetabaseProvisioningReport {
  readonly signedIn: 'setup' | 'session' | 'api-key';
  readonly database: ProvisionedItem;
  readonly collection: ProvisionedItem;
  readonly cards: readonly ProvisionedItem[];
  readonly dashboards: ReadonlyArray<ProvisionedItem & { readonly url: string }>;
}

/**
 * Brings a Metabase instance to the restaurant dashboards, idempotently: a new instance is set up with
 * the given admin, otherwise the admin signs in; the warehouse connection, the collection, its cards
 * and its dashboards are found by name and updated, or created when missing. Nothing is duplicated.
 */
export async function provisionMetabase(client: MetabaseClient, options: MetabaseProvisioningOptions): Promise<MetabaseProvisioningReport> {
  const log = options.log ?? (() => undefined);
  const dashboards = options.dashboards ?? RESTAURANT_DASHBOARDS;

  const signedIn = await signIn(client, options.admin);
  log({ setup: `set up the new instance with admin ${options.admin?.email}`, session: `signed in as ${options.admin?.email}`, 'api-key': 'using the API key' }[signedIn]);

  const database = await ensureDatabase(client, options.warehouse);
  log(`database "${database.name}" ${database.action} (id ${database.id}): ${options.warehouse.host}:${options.warehouse.port}/${options.warehouse.database} as ${ANALYTICS_READER_ROLE}`);

  const collection = await ensureCollection(client);
  log(`collection "${collection.name}" ${collection.action} (id ${collection.id})`);

  const existingCards = byName(await client.collectionItems(collection.id, 'card'));
  const cards: ProvisionedItem[] = [];
  for (const card of cardsOf(dashboards)) {
    const body = cardRequest(card, database.id, collection.id);
    const existing = existingCards.get(card.name);
    const saved = existing ? await client.updateCard(existing.id, body) : await client.createCard(body);
    cards.push({ name: card.name, id: saved.id, action: existing ? 'updated' : 'created' });
  }
  const cardIds = new Map(cards.map((card) => [card.name, card.id]));
  log(`cards: ${count(cards, 'created')} created, ${count(cards, 'updated')} updated`);

  const existingDashboards = byName(await client.collectionItems(collection.id, 'dashboard'));
  const provisioned: Array<ProvisionedItem & { url: string }> = [];
  for (const definition of dashboards) {
    const body = { name: definition.name, description: definition.description, collection_id: collection.id };
    const existing = existingDashboards.get(definition.name);
    const dashboard = existing ? await client.dashboard(existing.id) : await client.createDashboard(body);
    const placements = definition.cards.map(({ card, row, col, sizeX, sizeY }) => ({ cardId: cardIds.get(card.name)!, row, col, sizeX, sizeY }));
    await client.updateDashboard(dashboard.id, { ...body, dashcards: dashcardsFor(placements, dashboard.dashcards) });
    const item = { name: definition.name, id: dashboard.id, action: existing ? 'updated' : 'created', url: client.dashboardUrl(dashboard.id) } as const;
    log(`dashboard "${item.name}" ${item.action}: ${item.url}`);
    provisioned.push(item);
  }

  return { signedIn, database, collection, cards, dashboards: provisioned };
}

async function signIn(client: MetabaseClient, admin: MetabaseProvisioningOptions['admin']): Promise<MetabaseProvisioningReport['signedIn']> {
  const properties = await client.sessionProperties();
  assertSupportedVersion(properties.version?.tag ?? undefined, client.usesApiKey);
  if (properties['has-user-setup']) {
    if (client.usesApiKey) return 'api-key';
    if (!admin) throw new Error('no way to sign in to Metabase: give MB_API_KEY, or MB_ADMIN_EMAIL and MB_ADMIN_PASSWORD');
    await client.login(admin.email, admin.password);
    return 'session';
  }
  if (!admin) throw new Error('Metabase is not set up yet, and an API key cannot set it up: give MB_ADMIN_EMAIL and MB_ADMIN_PASSWORD for its first admin');
  const problem = setupPasswordProblem(admin.password);
  if (problem) throw new Error(`MB_ADMIN_PASSWORD cannot be the new Metabase admin's password: ${problem}`);
  const token = properties['setup-token'];
  if (!token) throw new Error('Metabase has no user yet but offered no setup token: finish its setup in the browser, then run this again');
  await client.setup({
    token,
    user: { email: admin.email, password: admin.password, first_name: 'Restaurant', last_name: 'Admin' },
    prefs: { site_name: SITE_NAME },
  });
  return 'setup';
}

async function ensureDatabase(client: MetabaseClient, warehouse: MetabaseProvisioningOptions['warehouse']): Promise<ProvisionedItem> {
  const details: PostgresDetails = {
    host: warehouse.host,
    port: warehouse.port,
    dbname: warehouse.database,
    user: ANALYTICS_READER_ROLE,
    password: warehouse.readerPassword,
    ssl: false,
    'schema-filters-type': 'inclusion',
    'schema-filters-patterns': SYNCED_SCHEMA,
  };
  const body = { name: METABASE_DATABASE_NAME, engine: 'postgres', details } as const;
  // Metabase hides stored passwords, so an existing connection is always updated: the password may have changed.
  const existing = (await client.databases()).find((database) => database.name === METABASE_DATABASE_NAME);
  const saved = existing ? await client.updateDatabase(existing.id, body) : await client.createDatabase(body);
  return { name: saved.name, id: saved.id, action: existing ? 'updated' : 'created' };
}

const isOurCollection = (collection: MetabaseCollection): collection is MetabaseCollection & { id: number } =>
  typeof collection.id === 'number' &&
  collection.name === METABASE_COLLECTION_NAME &&
  !collection.archived &&
  collection.personal_owner_id == null &&
  (collection.location ?? '/') === '/';

async function ensureCollection(client: MetabaseClient): Promise<ProvisionedItem> {
  const existing = (await client.collections()).find(isOurCollection);
  if (existing) return { name: existing.name, id: existing.id, action: 'reused' };
  const created = await client.createCollection({
    name: METABASE_COLLECTION_NAME,
    description: 'Dashboards and questions over the restaurant warehouse views, provisioned by `restaurant-stack metabase`: edits made here are overwritten on its next run.',
    parent_id: null,
  });
  return { name: created.name, id: created.id, action: 'created' };
}

function cardRequest(card: CardDefinition, databaseId: number, collectionId: number): CardRequest {
  return {
    name: card.name,
    description: card.description,
    display: card.display,
    visualization_settings: card.visualizationSettings,
    collection_id: collectionId,
    dataset_query: { type: 'native', native: { query: card.sql, 'template-tags': {} }, database: databaseId },
  };
}

/** The first (oldest) item of each name: a copy someone made later is left alone. */
function byName(items: readonly CollectionItem[]): Map<string, CollectionItem> {
  const found = new Map<string, CollectionItem>();
  for (const item of [...items].sort((a, b) => a.id - b.id)) if (!found.has(item.name)) found.set(item.name, item);
  return found;
}

const count = (items: readonly ProvisionedItem[], action: ProvisioningAction) => items.filter((item) => item.action === action).length;
