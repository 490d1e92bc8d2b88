import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isAlive } from './orphans.js';

/** What a running `restaurant-stack up` publishes so other commands on this machine can find its parts. */
const runtimeStateSchema = z.object({
  pid: z.number().int(),
  startedAt: z.string(),
  databaseUrl: z.string(),
  temporalAddress: z.string(),
  apiUrl: z.string(),
});
export type RuntimeState = z.infer<typeof runtimeStateSchema>;

const stateFile = (dataDir: string) => path.join(dataDir, 'stack.json');

export function writeRuntimeState(dataDir: string, state: RuntimeState): void {
  writeFileSync(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function clearRuntimeState(dataDir: string): void {
  rmSync(stateFile(dataDir), { force: true });
}

/** The state of a stack that is running now, or undefined (a stale file from a killed stack is ignored). */
export function readRuntimeState(dataDir: string): RuntimeState | undefined {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return undefined;
  const parsed = runtimeStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  return parsed.success && isAlive(parsed.data.pid) ? parsed.data : undefined;
}
