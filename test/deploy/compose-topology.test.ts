import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { loadConfig, projectRoot } from '../../config/env.js';
import { STREAM_SEARCH_ATTRIBUTE } from '../../contracts/ingestion.js';
import { spawnSupervised, type SupervisedChild } from '../../stack/child-process.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../stack/embedded-postgres.js';
import { findFreePort } from '../../stack/ports.js';
import { waitUntil } from '../../stack/wait.js';
import { resolveCompose, volumeSource, volumeTarget, type ComposeService, type ResolvedCompose } from '../support/compose.js';
import { labelNames, metricNames, monitoringExpressions } from '../support/monitoring.js';
import { parsePrometheus, total } from '../support/prometheus.js';
import { requireSystemTool } from '../support/system-tools.js';

/*
 * docker-compose.yml's topology without Docker: every service that matters for ingestion, run on this
 * machine with the commands, scripts and environment the resolved compose file gives it, in its
 * depends_on order. Only the network differs: `postgres:5432`, `temporal:7233`, `api:8000` and the
 * worker's 9464 become free local ports. What stands in for each image:
 *   postgres            an embedded PostgreSQL 15 with the image's superuser, then deploy/postgres/init via psql
 *   temporal-schema     deploy/temporal/setup-schema.sh with temporal-sql-tool v1.25.2 built from Go
 *   temporal            temporal-server v1.25.2 built from Go, on PostgreSQL, configured from the service's variables
 *   temporal-namespace  deploy/temporal/create-namespace.sh with the Temporal CLI
 *   migrate, worker, api, ingest-start, maintenance-schedule   the image's `node bin/restaurant-stack.js <command>`
 * Not run: temporal-ui, metabase, metabase-setup, pgadmin, prometheus, grafana (images with no stand-in here).
 */

const run = promisify(execFile);

/** Counters the exporters show only once something has happened: a rejected event, a failed activity. */
const NOT_EXPORTED_UNTIL_FIRST_INCREMENT = ['restaurant_ingest_rejected_events_total', 'temporal_activity_execution_failed_total'];
const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');

const variables = {
  POSTGRES_SUPERUSER_PASSWORD: 'topology-superuser',
  TEMPORAL_DB_PASSWORD: 'topology-temporal',
  METABASE_DB_PASSWORD: 'topology-metabase',
  RESTAURANT_DB_PASSWORD: 'topology-restaurant',
  ETL_DB_PASSWORD: 'topology-etl',
  ANALYTICS_READER_PASSWORD: 'topology-reader',
  MB_ADMIN_EMAIL: 'owner@bistro.example.com',
  MB_ADMIN_PASSWORD: 'grill-and-tip-2026',
  PGADMIN_DEFAULT_EMAIL: 'owner@bistro.example.com',
  PGADMIN_DEFAULT_PASSWORD: 'topology-pgadmin',
  GRAFANA_ADMIN_PASSWORD: 'topology-grafana',
  // Not the default, so the test shows the name travels from .env to every service.
  WAREHOUSE_DATABASE: 'bistro_warehouse',
  API_RATE: '100',
  INGEST_SESSION_SECONDS: '3',
};

describe('the docker-compose topology, run without Docker', () => {
  let compose: ResolvedCompose;
  let workDir: string;
  let postgres: EmbeddedPostgres;
  const children: SupervisedChild[] = [];
  const ports = { temporal: 0, api: 0, metrics: 0 };
  let temporalServer: SupervisedChild;
  const logs: string[] = [];
  const sink = (name: string) => (line: string) => void logs.push(`${name} | ${line}`);
  const recentLogs = (name: string) => logs.filter((line) => line.startsWith(`${name} |`)).slice(-8).map((line) => line.slice(0, 400)).join('\n');

  const service = (name: string): ComposeService => {
    const found = compose.services[name];
    if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
    return found;
  };

  /** The service's environment on this machine: compose's host names become local ports. */
  const environmentOf = (name: string, extra: Record<string, string> = {}): Record<string, string> => {
    const local: Record<string, string> = {};
    for (const [key, value] of Object.entries(service(name).environment ?? {})) {
      local[key] = (value ?? '')
        .replaceAll('postgres:5432', `127.0.0.1:${postgres.port}`)
        .replaceAll('temporal:7233', `127.0.0.1:${ports.temporal}`)
        .replaceAll('api:8000', `127.0.0.1:${ports.api}`);
    }
    if (local.POSTGRES_SEEDS === 'postgres') local.POSTGRES_SEEDS = '127.0.0.1';
    if (local.DB_PORT === '5432') local.DB_PORT = String(postgres.port);
    if (local.METRICS_HOST === '0.0.0.0') local.METRICS_HOST = '127.0.0.1';
    if (local.METRICS_PORT === '9464') local.METRICS_PORT = String(ports.metrics);
    return { PATH: process.env.PATH ?? '', HOME: workDir, ...local, ...extra };
  };

  /** A path inside the service's container, on this machine through the service's bind mounts. */
  const hostPath = (name: string, containerPath: string): string => {
    for (const volume of service(name).volumes ?? []) {
      const target = volumeTarget(volume);
      if (containerPath === target || containerPath.startsWith(`${target}/`)) return path.join(volumeSource(volume), containerPath.slice(target.length));
    }
    throw new Error(`${containerPath} is not mounted into ${name}`);
  };

  /** The stack image's command for a service, as `node bin/restaurant-stack.js …` with local ports. */
  const stackArgs = (name: string) =>
    (service(name).command ?? []).map((arg) => arg.replace('http://api:8000', `http://127.0.0.1:${ports.api}`)).map((arg, index, all) => {
      if (all[index - 1] === '--host' && arg === '0.0.0.0') return '127.0.0.1';
      if (all[index - 1] === '--port' && arg === '8000') return String(ports.api);
      return arg;
    });

  // As the Dockerfile's ENV: production mode; the worker keeps the checkout's data folder for its cached workflow bundle.
  const imageEnvironment = (dataDir: string) => ({ NODE_ENV: 'production', DATA_DIR: dataDir });

  const oneShot = async (name: string, command: string, args: string[], env: Record<string, string>) => {
    try {
      const { stdout, stderr } = await run(command, args, { env, cwd: projectRoot, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
      sink(name)(`${stdout}${stderr}`);
      return stdout;
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      throw new Error(`${name} failed (exit ${failed.code}):\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, { cause: error });
    }
  };

  const longRunning = (name: string, command: string, args: string[], env: Record<string, string>) => {
    // stdin is a lifeline: these end with the test run even if it dies.
    const child = spawnSupervised(name, command, args, { sink: sink(name), env: { ...env, RESTAURANT_STACK_SUPERVISED: '1' }, cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };

  /** The service's own health check command, run here. */
  const healthCheck = async (name: string, env: Record<string, string>) => {
    const test = service(name).healthcheck?.test;
    if (!Array.isArray(test)) throw new Error(`${name} has no health check`);
    const [kind, ...command] = test;
    const local = command.map((part) => part.replaceAll('temporal:7233', `127.0.0.1:${ports.temporal}`).replaceAll('127.0.0.1:9464', `127.0.0.1:${ports.metrics}`).replaceAll('127.0.0.1:8000', `127.0.0.1:${ports.api}`));
    const [file, ...args] = kind === 'CMD-SHELL' ? ['sh', '-c', local.join(' ')] : local;
    try {
      await run(file!, args, { env, timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  };

  const serverTools = () => {
    const tools = inject('temporalServerTools');
    if ('unavailable' in tools) throw new Error(`the Temporal server and temporal-sql-tool could not be built: ${tools.unavailable}`);
    return tools;
  };

  beforeAll(async () => {
    requireSystemTool('psql', 'postgresql-client');
    const tools = serverTools();
    workDir = mkdtempSync(path.join(tmpdir(), 'compose-topology-'));
    // The embedded PostgreSQL runs as the postgres system user when the tests run as root.
    chmodSync(workDir, 0o755);
    compose = await resolveCompose(variables, path.join(workDir, '.env'));
    ports.temporal = await findFreePort();
    ports.api = await findFreePort();
    ports.metrics = await findFreePort();

    // postgres: the image's superuser and password, then its init scripts.
    const postgresEnv = service('postgres').environment ?? {};
    const clusterDir = path.join(workDir, 'postgres', 'cluster');
    mkdirSync(path.dirname(clusterDir), { recursive: true });
    writeFileSync(path.join(workDir, 'postgres', 'postgres-admin-password'), `${postgresEnv.POSTGRES_PASSWORD}\n`, { mode: 0o600 });
    postgres = await startEmbeddedPostgres({ clusterDir, preferredPort: 0, sink: sink('postgres'), settings: { fsync: 'off', max_connections: '200' } });
    expect(postgres.adminUrl).toContain(`${postgresEnv.POSTGRES_USER}:`);
    const initDir = hostPath('postgres', '/docker-entrypoint-initdb.d');
    for (const script of readdirSync(initDir).filter((file) => file.endsWith('.sh')).toSorted()) {
      await oneShot(`postgres init ${script}`, 'bash', [path.join(initDir, script)], {
        ...environmentOf('postgres'),
        PGHOST: '127.0.0.1',
        PGPORT: String(postgres.port),
        PGPASSWORD: postgresEnv.POSTGRES_PASSWORD ?? '',
      });
    }

    // temporal-schema: its entrypoint script with temporal-sql-tool and the schema folder the admin-tools image ships.
    const schemaJob = service('temporal-schema');
    const [shell, script] = schemaJob.entrypoint as string[];
    const schemaEnv = environmentOf('temporal-schema', { PATH: `${tools.binDir}:${process.env.PATH}`, SCHEMA_DIR: tools.postgresSchemaDir });
    await oneShot('temporal-schema', shell!, [hostPath('temporal-schema', script!)], schemaEnv);

    // temporal: the server on PostgreSQL, configured from the service's variables as the image's template does.
    const serverEnv = environmentOf('temporal');
    const grpc = [ports.temporal, ...(await Promise.all([1, 2, 3].map(() => findFreePort())))];
    // Membership ports are stored as PostgreSQL smallints: below 32768, one band of 100 per service.
    const band = 10_000 + Math.floor(Math.random() * 180) * 100;
    const membership = await Promise.all([0, 1, 2, 3].map((index) => findFreePort(band + index * 100)));
    const datastore = (databaseName: string, maxConns: number) => ({
      sql: {
        pluginName: serverEnv.DB,
        databaseName,
        connectAddr: `${serverEnv.POSTGRES_SEEDS}:${serverEnv.DB_PORT}`,
        connectProtocol: 'tcp',
        user: serverEnv.POSTGRES_USER,
        password: serverEnv.POSTGRES_PWD,
        maxConns,
        maxIdleConns: maxConns,
        maxConnLifetime: '1h',
      },
    });
    const rpc = (index: number) => ({ rpc: { grpcPort: grpc[index], membershipPort: membership[index], bindOnLocalHost: true } });
    const serverConfig = {
      log: { stdout: true, level: 'warn' },
      persistence: {
        defaultStore: 'default',
        visibilityStore: 'visibility',
        numHistoryShards: 4,
        datastores: { default: datastore('temporal', 20), visibility: datastore('temporal_visibility', 10) },
      },
      global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
      services: { frontend: rpc(0), history: rpc(1), matching: rpc(2), worker: rpc(3) },
      clusterMetadata: {
        enableGlobalNamespace: false,
        failoverVersionIncrement: 10,
        masterClusterName: 'active',
        currentClusterName: 'active',
        clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${ports.temporal}` } },
      },
      dcRedirectionPolicy: { policy: 'noop' },
      dynamicConfigClient: { filepath: hostPath('temporal', path.posix.join('/etc/temporal', serverEnv.DYNAMIC_CONFIG_FILE_PATH ?? '')), pollInterval: '10s' },
    };
    mkdirSync(path.join(workDir, 'temporal', 'config'), { recursive: true });
    // JSON is YAML: the server reads config/compose.yaml.
    writeFileSync(path.join(workDir, 'temporal', 'config', 'compose.yaml'), JSON.stringify(serverConfig, null, 2));
    temporalServer = longRunning('temporal', tools.server, ['--root', path.join(workDir, 'temporal'), '--env', 'compose', '--allow-no-auth', 'start'], serverEnv);
    const cliPath = `${path.dirname(inject('temporalCli'))}:${process.env.PATH}`;
    await waitUntil('the Temporal server passes its compose health check', 90_000, async () => {
      if (temporalServer.process.exitCode !== null) throw new Error(`temporal-server exited (${temporalServer.process.exitCode}):\n${recentLogs('temporal')}`);
      return healthCheck('temporal', { ...serverEnv, PATH: cliPath });
    }, 1_000);

    // temporal-namespace: its entrypoint script with the Temporal CLI.
    const [namespaceShell, namespaceScript] = service('temporal-namespace').entrypoint as string[];
    await oneShot('temporal-namespace', namespaceShell!, [hostPath('temporal-namespace', namespaceScript!)], environmentOf('temporal-namespace', { PATH: cliPath }));
  }, 240_000);

  afterAll(async () => {
    for (const child of children.toReversed()) await child.stop('SIGTERM', 15_000);
    await postgres?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('makes Temporal’s databases owned by the temporal role, and its schema job and namespace job can run again', async () => {
    const admin = new pg.Client({ connectionString: postgres.adminUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string; owner: string }>(
        `SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname IN ('temporal', 'temporal_visibility', 'metabase', $1) ORDER BY datname`,
        [variables.WAREHOUSE_DATABASE],
      );
      expect(rows).toEqual([
        { datname: variables.WAREHOUSE_DATABASE, owner: 'postgres_admin' },
        { datname: 'metabase', owner: 'metabase' },
        { datname: 'temporal', owner: 'temporal' },
        { datname: 'temporal_visibility', owner: 'temporal' },
      ]);
    } finally {
      await admin.end();
    }
    const tools = serverTools();
    const [shell, script] = service('temporal-schema').entrypoint as string[];
    const again = await oneShot('temporal-schema (again)', shell!, [hostPath('temporal-schema', script!)], environmentOf('temporal-schema', { PATH: `${tools.binDir}:${process.env.PATH}`, SCHEMA_DIR: tools.postgresSchemaDir }));
    expect(again).toContain('database temporal_visibility is at the newest visibility schema');
    const [namespaceShell, namespaceScript] = service('temporal-namespace').entrypoint as string[];
    const namespace = await oneShot('temporal-namespace (again)', namespaceShell!, [hostPath('temporal-namespace', namespaceScript!)], environmentOf('temporal-namespace', { PATH: `${path.dirname(inject('temporalCli'))}:${process.env.PATH}` }));
    expect(namespace).toContain('default exists');
    expect(namespace).toContain(`search attribute ${STREAM_SEARCH_ATTRIBUTE} exists`);
    const validated = await oneShot('temporal dynamic config', tools.server, ['validate-dynamic-config', hostPath('temporal', '/etc/temporal/config/dynamicconfig/restaurant.yaml')], { PATH: process.env.PATH ?? '' });
    expect(validated).not.toMatch(/unknown|invalid/i);
  });

  it('migrates, runs the worker, the event API and the one-shots with compose’s environment, and ingests into the warehouse', async () => {
    const stackData = path.join(workDir, 'stack-data');
    await oneShot('migrate', process.execPath, [cli, ...stackArgs('migrate')], { ...environmentOf('migrate'), ...imageEnvironment(stackData) });

    const api = longRunning('api', process.execPath, [cli, ...stackArgs('api')], { ...environmentOf('api'), ...imageEnvironment(path.join(workDir, 'api-data')) });
    const worker = longRunning('worker', process.execPath, [cli, ...stackArgs('worker')], { ...environmentOf('worker'), ...imageEnvironment(loadConfig().DATA_DIR) });
    const workerEnv = environmentOf('worker');
    expect(workerEnv.DATABASE_URL).toMatch(new RegExp(`^postgres://restaurant_etl:.*/${variables.WAREHOUSE_DATABASE}$`));
    await waitUntil('the event API and the worker pass their compose health checks', 90_000, async () => {
      for (const child of [api, worker]) if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${recentLogs(child.name)}`);
      return (await healthCheck('api', environmentOf('api'))) && (await healthCheck('worker', workerEnv));
    }, 500).catch((error: Error) => {
      throw new Error(`${error.message}\n${recentLogs('api')}\n${recentLogs('worker')}`);
    });

    await oneShot('ingest-start', process.execPath, [cli, ...stackArgs('ingest-start')], { ...environmentOf('ingest-start'), ...imageEnvironment(stackData) });
    await oneShot('maintenance-schedule', process.execPath, [cli, ...stackArgs('maintenance-schedule')], { ...environmentOf('maintenance-schedule'), ...imageEnvironment(stackData) });

    const warehouse = new pg.Client({ connectionString: postgres.adminUrl.replace(/\/postgres$/, `/${variables.WAREHOUSE_DATABASE}`) });
    await warehouse.connect();
    onTestFinished(() => warehouse.end());
    await expect
      .poll(async () => Number((await warehouse.query<{ n: string }>('SELECT count(*) AS n FROM raw_data.events_raw')).rows[0]?.n), { timeout: 60_000, interval: 500 })
      .toBeGreaterThan(50);

    // The maintenance Schedule exists and its run, triggered now, completes as the worker's ETL role.
    const scheduleId = environmentOf('maintenance-schedule').MAINTENANCE_SCHEDULE_ID!;
    const temporalCli = (args: string[]) => oneShot('temporal', inject('temporalCli'), [...args, '--address', `127.0.0.1:${ports.temporal}`], { PATH: process.env.PATH ?? '', HOME: workDir });
    expect(JSON.parse(await temporalCli(['schedule', 'describe', '--schedule-id', scheduleId, '--output', 'json']))).toMatchObject({
      schedule: { action: { startWorkflow: { workflowType: { name: 'restaurantMaintenance' } } } },
    });
    await temporalCli(['schedule', 'trigger', '--schedule-id', scheduleId]);
    await expect
      .poll(async () => (await warehouse.query<{ task: string; status: string }>('SELECT task, status FROM analytics.maintenance_results ORDER BY id')).rows.map((row) => row.task), { timeout: 60_000, interval: 500 })
      .toEqual(['health_check', 'data_consistency', 'raw_retention', 'analyze']);

    // Every metric the alert rules and the Grafana dashboard read is one the worker or the API exports.
    const scrape = async (port: number) => parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    await expect
      .poll(async () => total(await scrape(ports.metrics), 'temporal_workflow_completed_total', 'workflow_type="restaurantMaintenance"'), { timeout: 15_000, interval: 500 })
      .toBeGreaterThan(0);
    const metrics = await scrape(ports.metrics);
    expect(total(metrics, 'restaurant_ingest_events_total')).toBeGreaterThan(50);
    // Each exported metric with the labels it carries.
    const exported = new Map<string, Set<string>>();
    for (const key of [...metrics.keys(), ...(await scrape(ports.api)).keys()]) {
      const [, name, labels = ''] = /^([^{]+)(?:\{(.*)\})?$/.exec(key)!;
      const known = exported.get(name!) ?? new Set<string>();
      for (const [, label] of labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) known.add(label!);
      exported.set(name!, known);
    }
    for (const { at, expr } of monitoringExpressions()) {
      const names = metricNames(expr);
      for (const name of names) expect(exported.has(name) || NOT_EXPORTED_UNTIL_FIRST_INCREMENT.includes(name) || name === 'up', `${at} reads ${name}`).toBe(true);
      const present = names.filter((name) => exported.has(name));
      if (present.length === 0) continue;
      for (const label of labelNames(expr)) expect(present.some((name) => exported.get(name)!.has(label)), `${at} uses the label ${label} of ${present.join(', ')}`).toBe(true);
    }
    expect((await fetch(`http://127.0.0.1:${ports.metrics}/livez`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${ports.metrics}/readyz`)).json()).toEqual({ ready: true, checks: { temporal: true, postgres: true, worker: true } });

    // Temporal gone: the worker is still live but no longer ready, and says why.
    await temporalServer.stop('SIGTERM', 15_000);
    await expect
      .poll(async () => {
        const response = await fetch(`http://127.0.0.1:${ports.metrics}/readyz`);
        return { status: response.status, body: await response.json() };
      }, { timeout: 30_000, interval: 500 })
      .toMatchObject({ status: 503, body: { ready: false, notReady: ['temporal'] } });
    expect((await fetch(`http://127.0.0.1:${ports.metrics}/livez`)).status).toBe(200);
    expect(await healthCheck('worker', workerEnv)).toBe(false);
  }, 240_000);

});
