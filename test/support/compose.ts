import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { projectRoot } from '../../config/env.js';
import { requireSystemTool } from './system-tools.js';

/*
 * docker-compose.yml resolved by a compose implementation without a Docker engine: `docker-compose config`
 * (Debian's package, installed by .ci/provision) resolves variables, anchors and defaults and validates the
 * result against the compose schema.
 */

export const COMPOSE_FILE = path.join(projectRoot, 'docker-compose.yml');
/** The override that runs the stack against Temporal Cloud or another TLS cluster. */
export const CLOUD_OVERRIDE = path.join(projectRoot, 'docker-compose.cloud.yml');
const run = promisify(execFile);

export const resolvedComposeSchema = z.object({
  services: z.record(
    z.string(),
    z.object({
      image: z.string().optional(),
      build: z.object({ context: z.string(), dockerfile: z.string().optional() }).optional(),
      command: z.array(z.string()).optional(),
      entrypoint: z.union([z.string(), z.array(z.string())]).optional(),
      restart: z.string().optional(),
      profiles: z.array(z.string()).optional(),
      healthcheck: z.object({ test: z.union([z.string(), z.array(z.string())]) }).optional(),
      depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
      // Compose v1 keeps numbers as the YAML gave them; v2 prints strings.
      environment: z.record(z.string(), z.union([z.string(), z.number()]).transform(String).nullable()).optional(),
      // Compose v1 prints short syntax ("source:target:mode"), v2 long syntax.
      volumes: z.array(z.union([z.string(), z.object({ type: z.string(), source: z.string().optional(), target: z.string() })])).optional(),
    }),
  ),
  volumes: z.record(z.string(), z.unknown()).optional(),
});
export type ResolvedCompose = z.infer<typeof resolvedComposeSchema>;
export type ComposeService = ResolvedCompose['services'][string];

export const volumeSource = (volume: string | { source?: string }) => (typeof volume === 'string' ? volume.split(':')[0] : volume.source) ?? '';
export const volumeTarget = (volume: string | { target: string }) => (typeof volume === 'string' ? volume.split(':')[1] : volume.target) ?? '';

export interface ComposeRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function composeMajorVersion(): Promise<number> {
  requireSystemTool('docker-compose', 'docker-compose');
  return Number((await run('docker-compose', ['version', '--short'])).stdout.trim().split('.')[0]);
}

/** `docker-compose config` of these files with exactly these variables (written to envFile): no shell environment and no .env of the checkout. */
export async function composeConfig(variables: Record<string, string>, envFile: string, majorVersion: number, files: readonly string[] = [COMPOSE_FILE]): Promise<ComposeRun> {
  writeFileSync(envFile, Object.entries(variables).map(([name, value]) => `${name}=${value}\n`).join(''));
  const args = ['--project-directory', projectRoot, ...files.flatMap((file) => ['--file', file]), '--env-file', envFile, 'config', ...(majorVersion >= 2 ? ['--format', 'json'] : [])];
  try {
    const { stdout, stderr } = await run('docker-compose', args, { env: { PATH: process.env.PATH ?? '' }, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** YAML as data, read by python3-yaml (a dependency of Debian's docker-compose, so present wherever compose is). */
export function parseYaml(text: string, what: string): unknown {
  const python = 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)';
  const converted = spawnSync('python3', ['-c', python], { input: text, encoding: 'utf8' });
  if (converted.status !== 0) throw new Error(`could not read ${what}: ${converted.stderr}`);
  return JSON.parse(converted.stdout);
}

/** The resolved file as data. Compose v1 prints YAML only. */
export function parseResolvedCompose(output: string, majorVersion: number): ResolvedCompose {
  return resolvedComposeSchema.parse(majorVersion >= 2 ? JSON.parse(output) : parseYaml(output, 'the resolved compose file'));
}

/** The compose files resolved with these variables, or an error with compose's own message. */
export async function resolveCompose(variables: Record<string, string>, envFile: string, files?: readonly string[]): Promise<ResolvedCompose> {
  const majorVersion = await composeMajorVersion();
  const result = await composeConfig(variables, envFile, majorVersion, files);
  if (result.code !== 0) throw new Error(`docker-compose config failed: ${result.stderr}`);
  return parseResolvedCompose(result.stdout, majorVersion);
}

/** Whether compose starts the service without a --profile (docker-compose.cloud.yml gives the local Temporal services one). */
export const startsByDefault = (service: ComposeService) => (service.profiles ?? []).length === 0;
