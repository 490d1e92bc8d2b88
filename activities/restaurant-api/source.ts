import { ApplicationFailure } from '@temporalio/activity';
import { DEFAULT_SOURCE_CREDENTIALS, sourceHeadersSchema, type SourceCredentials } from '../../contracts/source-credentials.js';

/** How a session reaches its source: the base URL, the headers every request carries, and the bounds on what it reads. */
export interface SourceAccess {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Largest SSE event (its whole block of lines) read; a larger one is rejected, not buffered. */
  readonly maxEventBytes: number;
  /** Largest `/events` body read. */
  readonly maxPageBytes: number;
}

/**
 * An endpoint of the contract under a source's base URL, keeping its path: `http://host/feeds/feed-007`
 * (with or without a trailing slash) and `events` give `http://host/feeds/feed-007/events`, where
 * `new URL('/events', base)` would drop the prefix.
 */
export function sourceEndpoint(baseUrl: string, endpoint: 'health' | 'events' | 'stream'): URL {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${endpoint}`;
  url.search = '';
  url.hash = '';
  return url;
}

/** Failure types a workflow recognises (see workflows/stream-ingestion.ts). */
export const CREDENTIALS_REFUSED = 'SourceCredentialsRefused';
export const CREDENTIALS_INVALID = 'SourceCredentialsInvalid';

/**
 * Reads the credentials named by a session request from the worker's environment (never from the
 * workflow: secrets stay out of its history). A variable named explicitly must exist; the default
 * names (RESTAURANT_API_TOKEN, RESTAURANT_API_HEADERS) may be unset.
 */
export function resolveSourceHeaders(credentials: SourceCredentials | undefined, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const tokenEnv = credentials?.tokenEnv ?? DEFAULT_SOURCE_CREDENTIALS.tokenEnv;
  const headersEnv = credentials?.headersEnv ?? DEFAULT_SOURCE_CREDENTIALS.headersEnv;
  const invalid = (message: string) => ApplicationFailure.create({ type: CREDENTIALS_INVALID, nonRetryable: true, message });
  const headers: Record<string, string> = {};
  const headersText = env[headersEnv]?.trim();
  if (headersText) {
    const parsed = sourceHeadersSchema.safeParse(headersText);
    // Only names and messages: the values are secrets.
    if (!parsed.success) throw invalid(`source credentials: ${headersEnv} ${parsed.error.issues.map((issue) => [...issue.path, issue.message].join(': ')).join('; ')}`);
    Object.assign(headers, parsed.data);
  } else if (credentials?.headersEnv) {
    throw invalid(`source credentials: the worker's environment has no ${headersEnv} (named by the stream's headersEnv)`);
  }
  const token = env[tokenEnv]?.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (credentials?.tokenEnv) throw invalid(`source credentials: the worker's environment has no ${tokenEnv} (named by the stream's tokenEnv)`);
  return headers;
}

/** A 401 or 403: retrying with the same credentials only hammers the source, so the session fails for good. */
export function credentialsRefused(what: string, status: number, body: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: CREDENTIALS_REFUSED,
    nonRetryable: true,
    message: `the source refused the credentials: ${what} answered ${status}${body ? ` (${body.slice(0, 200)})` : ''}; set RESTAURANT_API_TOKEN (or the stream's token variable) on the workers, then resume`,
  });
}

export function isCredentialsRefusal(status: number): boolean {
  return status === 401 || status === 403;
}
