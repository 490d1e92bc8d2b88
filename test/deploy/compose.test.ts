import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import {
  COMPOSE_FILE,
  composeConfig as composeConfigWithFile,
  composeMajorVersion,
  parseResolvedCompose,
  volumeSource,
  type ResolvedCompose,
} from '../support/compose.js';

/* docker-compose.yml checked by `docker-compose config` (test/support/compose.ts), without a Docker engine. */

const REQUIRED_VARIABLES = [
  'POSTGRES_SUPERUSER_PASSWORD',
  'TEMPORAL_DB_PASSWORD',
  'METABASE_DB_PASSWORD',
  'RESTAURANT_DB_PASSWORD',
  'ETL_DB_PASSWORD',
  'ANALYTICS_READER_PASSWORD',
  'MB_ADMIN_EMAIL',
  'MB_ADMIN_PASSWORD',
  'PGADMIN_DEFAULT_EMAIL',
  'PGADMIN_DEFAULT_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
];
/** A distinct value per variable, so the resolved file shows where each one went. */
const completeEnvironment = Object.fromEntries(REQUIRED_VARIABLES.map((name) => [name, name.endsWith('EMAIL') ? `${name.toLowerCase()}@restaurant.example` : `secret-${name.toLowerCase()}`]));

const LONG_RUNNING = ['postgres', 'temporal', 'temporal-ui', 'worker', 'api', 'metabase', 'pgadmin', 'prometheus', 'grafana'];
const ONE_SHOT = ['temporal-schema', 'temporal-namespace', 'migrate', 'ingest-start', 'maintenance-schedule', 'metabase-setup'];
const BUILT_HERE = ['migrate', 'worker', 'api', 'ingest-start', 'maintenance-schedule', 'metabase-setup'];

describe('docker-compose.yml', () => {
  let workDir: string;
  let majorVersion: number;

  beforeAll(async () => {
    majorVersion = await composeMajorVersion();
    workDir = mkdtempSync(path.join(tmpdir(), 'compose-test-'));
  });
  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const composeConfig = (variables: Record<string, string>, label: string) => composeConfigWithFile(variables, path.join(workDir, `${label}.env`), majorVersion);
  const asJson = (output: string) => parseResolvedCompose(output, majorVersion);

  describe('resolved with every required variable', () => {
    let resolved: ResolvedCompose;

    beforeAll(async () => {
      const result = await composeConfig(completeEnvironment, 'complete');
      expect(result.stderr).not.toMatch(/error|invalid/i);
      expect(result.code).toBe(0);
      resolved = asJson(result.stdout);
    });

    it('has the stack’s services, PostgreSQL 15 and Temporal on PostgreSQL', () => {
      expect(Object.keys(resolved.services).toSorted()).toEqual([...LONG_RUNNING, ...ONE_SHOT].toSorted());
      expect(resolved.services.postgres?.image).toMatch(/^postgres:15(\b|$)/);
      expect(resolved.services.temporal?.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    });

    it('runs the Temporal server image (not the deprecated auto-setup) after its schema job, and registers the namespace after it', () => {
      expect(resolved.services.temporal?.image).toMatch(/^temporalio\/server:/);
      expect(resolved.services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:/);
      expect(resolved.services.temporal?.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
      expect(resolved.services['temporal-namespace']?.depends_on).toEqual({ temporal: { condition: 'service_healthy' } });
      expect(resolved.services['temporal-schema']?.environment?.POSTGRES_USER).toBe('temporal');
    });

    it('registers the warehouse in pgAdmin under WAREHOUSE_DATABASE', async () => {
      const result = await composeConfig({ ...completeEnvironment, WAREHOUSE_DATABASE: 'bistro_warehouse' }, 'warehouse-name');
      const named = asJson(result.stdout);
      const environment = named.services.pgadmin?.environment ?? {};
      expect(environment.WAREHOUSE_DATABASE).toBe('bistro_warehouse');
      const serversJson = (database: string) =>
        spawnSync('sh', [path.join(projectRoot, 'deploy/pgadmin/servers-json.sh')], { env: { PATH: process.env.PATH, WAREHOUSE_DATABASE: database }, encoding: 'utf8' });
      const written = serversJson(environment.WAREHOUSE_DATABASE ?? '');
      expect(written.status, written.stderr).toBe(0);
      expect(JSON.parse(written.stdout)).toMatchObject({ Servers: { 1: { Host: 'postgres', MaintenanceDB: 'bistro_warehouse' } } });
      const refused = serversJson('bistro"; drop');
      expect(refused.status).toBe(2);
      expect(refused.stderr).toContain('WAREHOUSE_DATABASE must be letters, digits and _');
    });

    it('builds the worker, the event API and the one-shot commands from the Dockerfile here', () => {
      expect(existsSync(path.join(projectRoot, 'Dockerfile'))).toBe(true);
      for (const name of BUILT_HERE) expect(resolved.services[name]?.build?.context, name).toBe(projectRoot);
      expect(new Set(BUILT_HERE.map((name) => resolved.services[name]?.image)).size).toBe(1);
    });

    it('gives long-running services a restart policy and a health check, and lets one-shots end', () => {
      for (const name of LONG_RUNNING) {
        expect(resolved.services[name]?.restart, name).toBe('unless-stopped');
        expect(resolved.services[name]?.healthcheck, name).toBeDefined();
      }
      for (const name of ONE_SHOT) expect(['no', 'on-failure'], name).toContain(resolved.services[name]?.restart);
    });

    it('starts the worker after the migrations have completed and its Temporal namespace exists', () => {
      expect(resolved.services.worker?.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
      expect(resolved.services.migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    });

    it('keeps state in named volumes and mounts only files that exist in the repository', () => {
      const declared = Object.keys(resolved.volumes ?? {});
      expect(declared).toEqual(expect.arrayContaining(['postgres-data', 'pgadmin-data']));
      for (const [name, service] of Object.entries(resolved.services)) {
        for (const source of (service.volumes ?? []).map(volumeSource)) {
          if (path.isAbsolute(source)) expect(existsSync(source), `${name} mounts ${source}`).toBe(true);
          else expect(declared, `${name} uses volume ${source}`).toContain(source);
        }
      }
    });

    it('takes every password from a variable: no password has a value of its own', () => {
      const secrets = new Set(Object.values(completeEnvironment));
      const passwords = Object.entries(resolved.services).flatMap(([service, { environment = {} }]) =>
        Object.entries(environment)
          .filter(([key]) => /PASS|PWD/.test(key))
          .map(([key, value]) => ({ at: `${service}.${key}`, value })),
      );
      expect(passwords.length).toBeGreaterThan(5);
      for (const { at, value } of passwords) expect(secrets.has(value ?? ''), `${at} = ${value}`).toBe(true);
      expect(resolved.services.worker?.environment?.DATABASE_URL).toContain(completeEnvironment.ETL_DB_PASSWORD);
      expect(resolved.services.migrate?.environment?.DATABASE_URL).toContain(completeEnvironment.POSTGRES_SUPERUSER_PASSWORD);
    });
  });

  it('marks exactly the passwords and admin accounts as required', () => {
    const required = [...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/\$\{(\w+):\?/g)].map((match) => match[1]);
    expect([...new Set(required)].toSorted()).toEqual(REQUIRED_VARIABLES.toSorted());
  });

  it.concurrent.for(REQUIRED_VARIABLES)('stops at once when %s is missing, naming it', async (variable, { expect }) => {
    const { [variable]: _left, ...others } = completeEnvironment;
    const result = await composeConfig(others, `without-${variable}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${variable} is required`);
  });

  it('reads only variables that .env.example lists', () => {
    const listed = new Set([...readFileSync(path.join(projectRoot, '.env.example'), 'utf8').matchAll(/^(\w+)=/gm)].map((match) => match[1]));
    const read = new Set([...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/(?<!\$)\$\{(\w+)/g)].map((match) => match[1]!));
    expect([...read].filter((name) => !listed.has(name))).toEqual([]);
  });
});
