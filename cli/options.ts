import type { z } from 'zod';
import { ConfigError } from '../config/env.js';

/** Validates one command-line value; a bad one ends the command with exit code 2 and one clear line. */
export function parseOption<T>(flag: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`invalid ${flag} ${JSON.stringify(value)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}
