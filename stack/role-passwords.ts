import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { StackConfig } from '../config/env.js';
import type { RolePasswords } from '../warehouse/roles.js';

const rolePasswordsSchema = z.object({ restaurantUser: z.string(), etl: z.string(), analyticsReader: z.string() });
const passwordsFile = (dataDir: string) => path.join(dataDir, 'role-passwords.json');

/** The generated passwords of the embedded cluster's roles, if it has been set up. */
export function storedRolePasswords(dataDir: string): RolePasswords | undefined {
  const file = passwordsFile(dataDir);
  return existsSync(file) ? rolePasswordsSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) : undefined;
}

/**
 * The embedded cluster's application roles get generated passwords, kept beside the cluster so that
 * every later run (and the worker) uses the same ones.
 */
function embeddedRolePasswords(dataDir: string): RolePasswords {
  const stored = storedRolePasswords(dataDir);
  if (stored) return stored;
  const generate = () => randomBytes(18).toString('base64url');
  const passwords = { restaurantUser: generate(), etl: generate(), analyticsReader: generate() };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(passwordsFile(dataDir), `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  return passwords;
}

/** Passwords given in the environment win; the embedded database's generated ones fill the rest. */
export function rolePasswords(config: StackConfig, embedded: boolean): RolePasswords {
  const generated = embedded ? embeddedRolePasswords(config.DATA_DIR) : {};
  return {
    restaurantUser: config.RESTAURANT_DB_PASSWORD ?? generated.restaurantUser,
    etl: config.ETL_DB_PASSWORD ?? generated.etl,
    analyticsReader: config.ANALYTICS_READER_PASSWORD ?? generated.analyticsReader,
  };
}
