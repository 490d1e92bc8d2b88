/**
 * How an ingestion finds its source's credentials: by the NAMES of environment variables, resolved by
 * the worker when a session starts. Secrets never enter a workflow's input or history.
 */
import { z } from 'zod';

export const DEFAULT_SOURCE_CREDENTIALS = { tokenEnv: 'RESTAURANT_API_TOKEN', headersEnv: 'RESTAURANT_API_HEADERS' } as const;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'the name of an environment variable, e.g. RESTAURANT_API_TOKEN');

export const sourceCredentialsSchema = z.strictObject({
  /** Holds a bearer token, sent as `Authorization: Bearer …`. */
  tokenEnv: envName.optional(),
  /** Holds a JSON object of further HTTP headers, e.g. {"X-Api-Key": "…"}. */
  headersEnv: envName.optional(),
});
export type SourceCredentials = z.infer<typeof sourceCredentialsSchema>;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The value of a headers variable: a JSON object of header names to string values. */
export const sourceHeadersSchema = z
  .string()
  .transform((text, context) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      context.addIssue({ code: 'custom', message: 'must be a JSON object of header names to values, e.g. {"X-Api-Key":"…"}' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      z.string().regex(HEADER_NAME, 'a header name must be a token (letters, digits, -)'),
      z.string().refine((value) => !/[\r\n]/.test(value), 'a header value must not contain line breaks'),
      { error: 'must be a JSON object of header names to string values' },
    ),
  );
