import type { z } from 'zod';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** `payload.items[2].qty`: where an issue is, as a reader would write it. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.map((key) => (typeof key === 'number' ? `[${key}]` : String(key))).join('.').replaceAll('.[', '[');
}

/**
 * The one way this project words a validation failure: every failing field with the value found there,
 * e.g. `payload.qty: Too small: expected number to be >0 (got -1)`. Used for events, the environment,
 * HTTP parameters and workflow inputs alike.
 */
export function describeIssues(error: z.ZodError, input: unknown, { root = 'value', limit = 5 } = {}): string {
  return error.issues
    .slice(0, limit)
    .map((issue) => {
      const value = valueAt(input, issue.path);
      // A type mismatch already names what it received, except for text a person typed (an environment
      // variable, a query parameter) that failed to coerce: show that text.
      const hidden = value === undefined || (issue.code === 'invalid_type' && typeof value !== 'string');
      const got = hidden ? '' : ` (got ${shown(value)})`;
      return `${issuePath(issue.path) || root}: ${issue.message}${got}`;
    })
    .join('; ');
}
