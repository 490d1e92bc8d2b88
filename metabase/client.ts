import { z } from 'zod';

/*
 * A small client for the Metabase REST API, in the shape of Metabase v0.50 (the same since v0.48,
 * when `PUT /api/dashboard/:id` took over the dashcards from `PUT /api/dashboard/:id/cards` and
 * `GET /api/dashboard/:id` renamed `ordered_cards` to `dashcards`; metabase/version.ts refuses older
 * ones). Every response is checked with zod; an error names the endpoint, the HTTP status and
 * Metabase's own message. It authenticates with a session (setup or sign-in) or an API key (v0.49+).
 */

const id = z.number().int().positive();

const sessionPropertiesSchema = z.object({
  'setup-token': z.string().nullish(),
  'has-user-setup': z.boolean(),
  version: z.object({ tag: z.string().nullish() }).nullish(),
});
export type SessionProperties = z.infer<typeof sessionPropertiesSchema>;

const sessionSchema = z.object({ id: z.string().min(1) });

const databaseSchema = z.object({ id, name: z.string(), engine: z.string() });
export type MetabaseDatabase = z.infer<typeof databaseSchema>;

// The list holds the root collection too, whose id is the string "root".
const collectionSchema = z.object({
  id: z.union([id, z.string()]),
  name: z.string(),
  archived: z.boolean().optional(),
  location: z.string().nullish(),
  personal_owner_id: z.number().nullish(),
});
export type MetabaseCollection = z.infer<typeof collectionSchema>;

const createdSchema = z.object({ id, name: z.string() });

const collectionItemSchema = z.object({ id, name: z.string(), model: z.string() });
export type CollectionItem = z.infer<typeof collectionItemSchema>;

const dashcardSchema = z.object({ id, card_id: id.nullable() });
export type ExistingDashcard = z.infer<typeof dashcardSchema>;

const dashboardSchema = z.object({ id, name: z.string(), dashcards: z.array(dashcardSchema).default([]) });
export type MetabaseDashboard = z.infer<typeof dashboardSchema>;

export interface SetupRequest {
  readonly token: string;
  readonly user: { readonly email: string; readonly password: string; readonly first_name: string; readonly last_name: string };
  readonly prefs: { readonly site_name: string };
}

export interface PostgresDetails {
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly user: string;
  readonly password: string;
  readonly ssl: boolean;
  readonly 'schema-filters-type': 'inclusion';
  readonly 'schema-filters-patterns': string;
}

export interface DatabaseRequest {
  readonly name: string;
  readonly engine: 'postgres';
  readonly details: PostgresDetails;
}

export interface CollectionRequest {
  readonly name: string;
  readonly description: string;
  readonly parent_id: null;
}

export interface NativeQuery {
  readonly type: 'native';
  readonly native: { readonly query: string; readonly 'template-tags': Record<string, never> };
  readonly database: number;
}

export interface CardRequest {
  readonly name: string;
  readonly description: string;
  readonly display: string;
  readonly visualization_settings: Readonly<Record<string, unknown>>;
  readonly collection_id: number;
  readonly dataset_query: NativeQuery;
}

export interface DashboardRequest {
  readonly name: string;
  readonly description: string;
  readonly collection_id: number;
}

/** One entry of the full `dashcards` list: a negative id creates it, an existing id keeps it, an omitted one is removed. */
export interface DashcardUpdate {
  readonly id: number;
  readonly card_id: number;
  readonly row: number;
  readonly col: number;
  readonly size_x: number;
  readonly size_y: number;
  readonly parameter_mappings: readonly [];
  readonly series: readonly [];
  readonly visualization_settings: Record<string, never>;
}

export class MetabaseApiError extends Error {
  override name = 'MetabaseApiError';
  constructor(
    /** e.g. `POST /api/card`. */
    readonly endpoint: string,
    /** Undefined when Metabase could not be reached or answered something unreadable. */
    readonly status: number | undefined,
    readonly metabaseMessage: string,
  ) {
    super(`${endpoint} ${status === undefined ? 'failed' : `answered ${status}`}: ${metabaseMessage}`);
  }
}

const errorBodySchema = z.object({
  message: z.string().optional(),
  errors: z.record(z.string(), z.unknown()).optional(),
});

/** Metabase answers errors as `{"message": …}`, `{"errors": {field: why}}`, a JSON string, or plain text. */
function metabaseMessageOf(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return text.trim().slice(0, 500) || '(empty response)';
  }
  if (typeof body === 'string') return body;
  const parsed = errorBodySchema.safeParse(body);
  if (parsed.success && parsed.data.message) return parsed.data.message;
  if (parsed.success && parsed.data.errors) {
    return Object.entries(parsed.data.errors)
      .map(([field, why]) => `${field}: ${typeof why === 'string' ? why : JSON.stringify(why)}`)
      .join('; ');
  }
  return text.slice(0, 500);
}

const REQUEST_TIMEOUT_MS = 60_000;

export class MetabaseClient {
  private sessionId: string | undefined;

  /** `baseUrl`: where Metabase serves its UI, e.g. `http://localhost:3000`; `apiKey`: sent as `x-api-key` on every request. */
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  get usesApiKey(): boolean {
    return this.apiKey !== undefined;
  }

  /** Where a dashboard opens in the browser. */
  dashboardUrl(dashboardId: number): string {
    return new URL(`dashboard/${dashboardId}`, this.withSlash()).toString();
  }

  sessionProperties(): Promise<SessionProperties> {
    return this.request('GET', '/api/session/properties', sessionPropertiesSchema);
  }

  /** First-time setup: creates the admin and signs in as them. */
  async setup(body: SetupRequest): Promise<void> {
    this.sessionId = (await this.request('POST', '/api/setup', sessionSchema, body)).id;
  }

  async login(email: string, password: string): Promise<void> {
    this.sessionId = (await this.request('POST', '/api/session', sessionSchema, { username: email, password })).id;
  }

  async databases(): Promise<MetabaseDatabase[]> {
    return (await this.request('GET', '/api/database', z.object({ data: z.array(databaseSchema) }))).data;
  }

  createDatabase(body: DatabaseRequest): Promise<MetabaseDatabase> {
    return this.request('POST', '/api/database', databaseSchema, body);
  }

  updateDatabase(databaseId: number, body: DatabaseRequest): Promise<MetabaseDatabase> {
    return this.request('PUT', `/api/database/${databaseId}`, databaseSchema, body);
  }

  collections(): Promise<MetabaseCollection[]> {
    return this.request('GET', '/api/collection', z.array(collectionSchema));
  }

  createCollection(body: CollectionRequest): Promise<{ id: number; name: string }> {
    return this.request('POST', '/api/collection', createdSchema, body);
  }

  async collectionItems(collectionId: number, model: 'card' | 'dashboard'): Promise<CollectionItem[]> {
    const schema = z.object({ data: z.array(collectionItemSchema) });
    return (await this.request('GET', `/api/collection/${collectionId}/items?models=${model}`, schema)).data;
  }

  createCard(body: CardRequest): Promise<{ id: number; name: string }> {
    return this.request('POST', '/api/card', createdSchema, body);
  }

  updateCard(cardId: number, body: CardRequest): Promise<{ id: number; name: string }> {
    return this.request('PUT', `/api/card/${cardId}`, createdSchema, body);
  }

  createDashboard(body: DashboardRequest): Promise<MetabaseDashboard> {
    return this.request('POST', '/api/dashboard', dashboardSchema, body);
  }

  dashboard(dashboardId: number): Promise<MetabaseDashboard> {
    return this.request('GET', `/api/dashboard/${dashboardId}`, dashboardSchema);
  }

  updateDashboard(dashboardId: number, body: DashboardRequest & { dashcards: readonly DashcardUpdate[] }): Promise<MetabaseDashboard> {
    return this.request('PUT', `/api/dashboard/${dashboardId}`, dashboardSchema, body);
  }

  private withSlash(): string {
    return this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`;
  }

  private async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, schema: z.ZodType<T>, body?: unknown): Promise<T> {
    const endpoint = `${method} ${path.split('?')[0]}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.sessionId) headers['x-metabase-session'] = this.sessionId;
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    let response: Response;
    try {
      response = await fetch(new URL(path.slice(1), this.withSlash()), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new MetabaseApiError(endpoint, undefined, `cannot reach Metabase at ${this.baseUrl} (${cause})`);
    }
    const text = await response.text();
    if (!response.ok) throw new MetabaseApiError(endpoint, response.status, metabaseMessageOf(text));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new MetabaseApiError(endpoint, response.status, `expected JSON, got: ${text.slice(0, 200)}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new MetabaseApiError(endpoint, response.status, `unexpected response: ${issue ? `${issue.path.join('.') || '(body)'}: ${issue.message}` : 'invalid'}`);
    }
    return parsed.data;
  }
}
