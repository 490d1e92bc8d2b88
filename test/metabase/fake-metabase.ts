import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/*
 * An in-memory stand-in for the Metabase REST API (v0.50; the shapes below are those of Metabase's own
 * endpoint schemas, src/metabase/api/*.clj). It checks every request body against them and answers
 * like Metabase: 400 {"errors": {field: why}}, 401 "Unauthenticated", 404 "Not found.". Like Metabase
 * it refuses a weak setup password, accepts an API key (`x-api-key`, v0.49+), and, playing v0.47,
 * ignores the dashcards of `PUT /api/dashboard/:id` (that version took them on `PUT …/:id/cards`).
 */

export interface FakeMetabaseBehaviour {
  /** What `GET /api/session/properties` reports as `version.tag`; default v0.50.36. */
  readonly version?: string;
  /** An API key Metabase accepts in `x-api-key`. */
  readonly apiKey?: string;
}

/** Metabase's default password complexity: 6+ characters with a digit, not on its common-passwords list (a few of it here). */
function weakPasswordReason(password: string): string | undefined {
  if (password.length < 6 || !/\d/.test(password)) return 'Insufficient password strength';
  if (['password1', '123456', 'abc123', 'qwerty123'].includes(password.toLowerCase())) return 'password is too common.';
  return undefined;
}

const nonBlank = z.string().trim().min(1, 'value must be a non-blank string.');
const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().min(0);

export const requestSchemas = {
  setup: z.object({
    token: z.string(),
    user: z.object({
      email: z.email(),
      password: z.string().min(1),
      first_name: nonBlank.nullish(),
      last_name: nonBlank.nullish(),
    }),
    prefs: z.object({ site_name: nonBlank, site_locale: z.string().nullish() }),
  }),
  session: z.object({ username: nonBlank, password: nonBlank }),
  database: z.object({
    name: nonBlank,
    engine: z.literal('postgres'),
    details: z.looseObject({
      host: nonBlank,
      port: z.number().int().min(1).max(65535),
      dbname: nonBlank,
      user: nonBlank,
      password: z.string(),
      ssl: z.boolean().optional(),
      'schema-filters-type': z.enum(['inclusion', 'exclusion', 'all']).optional(),
      'schema-filters-patterns': z.string().optional(),
    }),
    is_full_sync: z.boolean().nullish(),
    auto_run_queries: z.boolean().nullish(),
  }),
  collection: z.object({
    name: nonBlank,
    description: nonBlank.nullish(),
    parent_id: positiveInt.nullish(),
  }),
  card: z.object({
    name: nonBlank,
    description: nonBlank.nullish(),
    display: nonBlank,
    visualization_settings: z.record(z.string(), z.unknown()),
    collection_id: positiveInt.nullish(),
    dataset_query: z.object({
      type: z.literal('native'),
      native: z.object({ query: nonBlank, 'template-tags': z.record(z.string(), z.unknown()).optional() }),
      database: positiveInt,
    }),
  }),
  dashboard: z.object({
    name: nonBlank,
    description: z.string().nullish(),
    collection_id: positiveInt.nullish(),
    parameters: z.array(z.record(z.string(), z.unknown())).nullish(),
  }),
  dashboardUpdate: z.object({
    name: nonBlank.nullish(),
    description: z.string().nullish(),
    collection_id: positiveInt.nullish(),
    dashcards: z
      .array(
        z.object({
          // Negative: a new dashcard for Metabase to create.
          id: z.number().int(),
          card_id: positiveInt.nullish(),
          size_x: positiveInt,
          size_y: positiveInt,
          row: nonNegativeInt,
          col: nonNegativeInt,
          parameter_mappings: z.array(z.object({ parameter_id: nonBlank, target: z.unknown() })).nullish(),
          series: z.array(z.record(z.string(), z.unknown())).nullish(),
          visualization_settings: z.record(z.string(), z.unknown()).nullish(),
        }),
      )
      .refine((dashcards) => new Set(dashcards.map((dashcard) => dashcard.id)).size === dashcards.length, 'dashcard ids must be unique')
      .nullish(),
  }),
};

type DatabaseBody = z.infer<typeof requestSchemas.database>;
type CardBody = z.infer<typeof requestSchemas.card>;

export interface FakeDatabase extends DatabaseBody {
  readonly id: number;
}
export interface FakeCollection {
  readonly id: number;
  name: string;
  description: string | null;
  location: string;
  personal_owner_id: number | null;
  archived: boolean;
}
export interface FakeCard extends CardBody {
  readonly id: number;
}
export interface FakeDashcard {
  readonly id: number;
  card_id: number | null;
  row: number;
  col: number;
  size_x: number;
  size_y: number;
}
export interface FakeDashboard {
  readonly id: number;
  name: string;
  description: string | null;
  collection_id: number | null;
  dashcards: FakeDashcard[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'string' ? body : JSON.stringify(body));
  }
}

const validationError = (error: z.ZodError) =>
  new HttpError(400, { errors: Object.fromEntries(error.issues.map((issue) => [issue.path.join('.') || 'body', issue.message])) });

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

function found<T>(value: T | undefined): T {
  if (value === undefined) throw new HttpError(404, 'Not found.');
  return value;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, { message: 'malformed JSON body' });
  }
}

const redacted = (database: FakeDatabase) => ({ ...database, details: { ...database.details, password: '**MetabasePass**' } });

export class FakeMetabase {
  readonly setupToken = randomUUID();
  admin: { email: string; password: string } | undefined;
  readonly databases: FakeDatabase[] = [];
  readonly collections: FakeCollection[] = [];
  readonly cards: FakeCard[] = [];
  readonly dashboards: FakeDashboard[] = [];
  /** Every request as `METHOD /path`, in order. */
  readonly requests: string[] = [];
  /** How the authenticated requests proved who they were. */
  readonly authenticatedBy = new Set<'session' | 'api-key'>();
  readonly version: string;
  private readonly sessions = new Set<string>();
  private lastId = 0;
  private server: Server | undefined;

  /** `withAdmin`: an instance whose setup is already done, with this admin. */
  constructor(
    withAdmin?: { email: string; password: string },
    private readonly behaviour: FakeMetabaseBehaviour = {},
  ) {
    this.version = behaviour.version ?? 'v0.50.36';
    if (withAdmin) this.createAdmin(withAdmin);
  }

  private get releaseLine(): number {
    return Number(/^v\d+\.(\d+)/.exec(this.version)?.[1]);
  }

  async start(): Promise<string> {
    const server = createServer((request, response) => void this.handle(request, response));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => this.server?.close((error) => (error ? reject(error) : resolve())) ?? resolve());
  }

  private nextId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  private createAdmin(admin: { email: string; password: string }): void {
    this.admin = admin;
    // Metabase gives every user a personal collection; it must not be mistaken for a shared one.
    this.collections.push({ id: this.nextId(), name: `${admin.email}'s Personal Collection`, description: null, location: '/', personal_owner_id: 1, archived: false });
  }

  private newSession(): { id: string } {
    const id = randomUUID();
    this.sessions.add(id);
    return { id };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname}`);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const result = this.route(method, url, parseJson(Buffer.concat(chunks).toString('utf8')), request.headers['x-metabase-session'], request.headers['x-api-key']);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    } catch (error) {
      const { status, body } = error instanceof HttpError ? error : { status: 500, body: { message: String(error) } };
      const json = typeof body !== 'string';
      response.writeHead(status, { 'content-type': json ? 'application/json' : 'text/plain' }).end(json ? JSON.stringify(body) : body);
    }
  }

  private route(method: string, url: URL, body: unknown, session: string | string[] | undefined, apiKey: string | string[] | undefined): unknown {
    const route = `${method} ${url.pathname.replace(/\/\d+(?=\/|$)/g, '/:id')}`;
    const id = Number(/\/(\d+)(?:\/|$)/.exec(url.pathname)?.[1]);

    if (route === 'GET /api/session/properties') {
      return { 'setup-token': this.admin ? null : this.setupToken, 'has-user-setup': this.admin !== undefined, version: { tag: this.version } };
    }
    if (route === 'POST /api/setup') {
      const setup = parse(requestSchemas.setup, body);
      if (this.admin || setup.token !== this.setupToken) throw new HttpError(403, { errors: { token: 'Token does not match the setup token.' } });
      const weak = weakPasswordReason(setup.user.password);
      if (weak) throw new HttpError(400, { errors: { password: weak } });
      this.createAdmin({ email: setup.user.email, password: setup.user.password });
      return this.newSession();
    }
    if (route === 'POST /api/session') {
      const login = parse(requestSchemas.session, body);
      if (login.username !== this.admin?.email || login.password !== this.admin.password) {
        throw new HttpError(401, { errors: { password: 'did not match stored password' } });
      }
      return this.newSession();
    }
    const keyAccepted = this.releaseLine >= 49 && this.behaviour.apiKey !== undefined && apiKey === this.behaviour.apiKey;
    if (keyAccepted) this.authenticatedBy.add('api-key');
    else if (typeof session === 'string' && this.sessions.has(session)) this.authenticatedBy.add('session');
    else throw new HttpError(401, 'Unauthenticated');

    switch (route) {
      case 'GET /api/database':
        return { data: this.databases.map(redacted), total: this.databases.length };
      case 'POST /api/database': {
        const database = { id: this.nextId(), ...parse(requestSchemas.database, body) };
        this.databases.push(database);
        return redacted(database);
      }
      case 'PUT /api/database/:id': {
        const index = this.databases.findIndex((database) => database.id === id);
        const database = { ...found(this.databases[index]), ...parse(requestSchemas.database.partial(), body) };
        this.databases[index] = database;
        return redacted(database);
      }
      case 'GET /api/collection':
        return [{ id: 'root', name: 'Our analytics', location: null, archived: false }, ...this.collections];
      case 'POST /api/collection': {
        const given = parse(requestSchemas.collection, body);
        const parent = given.parent_id ? found(this.collections.find((collection) => collection.id === given.parent_id)) : undefined;
        const collection = { id: this.nextId(), name: given.name, description: given.description ?? null, location: parent ? `${parent.location}${parent.id}/` : '/', personal_owner_id: null, archived: false };
        this.collections.push(collection);
        return collection;
      }
      case 'GET /api/collection/:id/items': {
        found(this.collections.find((collection) => collection.id === id));
        const models = url.searchParams.getAll('models');
        const items = [
          ...this.cards.filter((card) => card.collection_id === id).map((card) => ({ id: card.id, name: card.name, model: 'card' })),
          ...this.dashboards.filter((dashboard) => dashboard.collection_id === id).map((dashboard) => ({ id: dashboard.id, name: dashboard.name, model: 'dashboard' })),
        ].filter((item) => models.length === 0 || models.includes(item.model));
        return { data: items, total: items.length, models, limit: null, offset: null };
      }
      case 'POST /api/card': {
        const card = { id: this.nextId(), ...this.checkCard(parse(requestSchemas.card, body)) };
        this.cards.push(card);
        return card;
      }
      case 'PUT /api/card/:id': {
        const index = this.cards.findIndex((card) => card.id === id);
        const card = { ...found(this.cards[index]), ...parse(requestSchemas.card.partial(), body) };
        this.cards[index] = { id, ...this.checkCard(card) };
        return this.cards[index];
      }
      case 'POST /api/dashboard': {
        const given = parse(requestSchemas.dashboard, body);
        const dashboard = { id: this.nextId(), name: given.name, description: given.description ?? null, collection_id: given.collection_id ?? null, dashcards: [] };
        this.dashboards.push(dashboard);
        return dashboard;
      }
      case 'GET /api/dashboard/:id': {
        const { dashcards, ...dashboard } = found(this.dashboards.find((candidate) => candidate.id === id));
        // Before v0.48 the dashcards were called ordered_cards.
        return this.releaseLine >= 48 ? { ...dashboard, dashcards, tabs: [] } : { ...dashboard, ordered_cards: dashcards, tabs: [] };
      }
      case 'PUT /api/dashboard/:id':
        return this.updateDashboard(found(this.dashboards.find((dashboard) => dashboard.id === id)), parse(requestSchemas.dashboardUpdate, body));
      default:
        throw new HttpError(404, 'API endpoint does not exist.');
    }
  }

  private checkCard(card: CardBody): CardBody {
    found(this.databases.find((database) => database.id === card.dataset_query.database));
    if (card.collection_id) found(this.collections.find((collection) => collection.id === card.collection_id));
    return card;
  }

  /** Like Metabase: negative ids are created, known ids updated, the dashboard's other dashcards deleted. */
  private updateDashboard(dashboard: FakeDashboard, update: z.infer<typeof requestSchemas.dashboardUpdate>): unknown {
    if (update.name) dashboard.name = update.name;
    if (update.description !== undefined) dashboard.description = update.description;
    if (update.collection_id !== undefined) dashboard.collection_id = update.collection_id;
    if (update.dashcards && this.releaseLine >= 48) {
      dashboard.dashcards = update.dashcards.map((given) => {
        if (given.card_id) found(this.cards.find((card) => card.id === given.card_id));
        if (given.id >= 0 && !dashboard.dashcards.some((dashcard) => dashcard.id === given.id)) {
          throw new HttpError(400, { errors: { dashcards: `dashcard ${given.id} is not on dashboard ${dashboard.id}` } });
        }
        const { id, card_id = null, row, col, size_x, size_y } = given;
        return { id: id >= 0 ? id : this.nextId(), card_id, row, col, size_x, size_y };
      });
    }
    return { ...dashboard, tabs: [] };
  }
}
