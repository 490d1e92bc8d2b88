import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { STREAM_SEARCH_ATTRIBUTE } from '../../contracts/ingestion.js';
import type { SupervisedChild } from '../../stack/child-process.js';
import { findFreePort } from '../../stack/ports.js';
import { waitUntil } from '../../stack/wait.js';
import { resolveCompose } from '../support/compose.js';
import { ComposeTopology, REQUIRED_TOPOLOGY_VARIABLES } from '../support/compose-topology.js';
import { labelNames, metricNames, monitoringExpressions } from '../support/monitoring.js';
import { parsePrometheus, total } from '../support/prometheus.js';
import { requireSystemTool } from '../support/system-tools.js';

/*
 * docker-compose.yml's topology without Docker (test/support/compose-topology.ts): every service that
 * matters for ingestion, run on this machine with the commands, scripts and environment the resolved
 * compose file gives it, in its depends_on order. What stands in for each image:
 *   postgres            an embedded PostgreSQL 15 with the image's superuser, then deploy/postgres/init via psql
 *   temporal-schema     deploy/temporal/setup-schema.sh with temporal-sql-tool v1.25.2 built from Go
 *   temporal            temporal-server v1.25.2 built from Go, on PostgreSQL, configured from the service's variables
 *   temporal-namespace, migrate, worker, api, ingest-start, maintenance-schedule   the image's `node bin/restaurant-stack.js <command>`
 * Not run: temporal-ui, metabase, metabase-setup, pgadmin, prometheus, grafana (images with no stand-in here).
 */

/** Counters the exporters show only once something has happened: a rejected event, a failed activity. */
const NOT_EXPORTED_UNTIL_FIRST_INCREMENT = ['restaurant_ingest_rejected_events_total', 'temporal_activity_execution_failed_total'];

const variables = {
  ...REQUIRED_TOPOLOGY_VARIABLES,
  // Not the default, so the test shows the name travels from .env to every service.
  WAREHOUSE_DATABASE: 'bistro_warehouse',
  API_RATE: '100',
  INGEST_SESSION_SECONDS: '3',
};

describe('the docker-compose topology, run without Docker', () => {
  let topology: ComposeTopology;
  let workDir: string;
  let temporalServer: SupervisedChild;
  let namespaceJob: Promise<string>;

  const serverTools = () => {
    const tools = inject('temporalServerTools');
    if ('unavailable' in tools) throw new Error(`the Temporal server and temporal-sql-tool could not be built: ${tools.unavailable}`);
    return tools;
  };
  const schemaJob = (label: string) => {
    const tools = serverTools();
    const [shell, script] = topology.service('temporal-schema').entrypoint as string[];
    const env = topology.environmentOf('temporal-schema', { PATH: `${tools.binDir}:${process.env.PATH}`, SCHEMA_DIR: tools.postgresSchemaDir });
    return topology.oneShot(label, shell!, [topology.hostPath('temporal-schema', script!)], env);
  };

  beforeAll(async () => {
    requireSystemTool('psql', 'postgresql-client');
    const tools = serverTools();
    workDir = mkdtempSync(path.join(tmpdir(), 'compose-topology-'));
    // The embedded PostgreSQL runs as the postgres system user when the tests run as root.
    chmodSync(workDir, 0o755);
    topology = new ComposeTopology(await resolveCompose(variables, path.join(workDir, '.env')), workDir, await ComposeTopology.ports());
    const { ports } = topology;

    await topology.startPostgres();
    await schemaJob('temporal-schema');

    // temporal: the server on PostgreSQL, configured from the service's variables as the image's template does.
    const serverEnv = topology.environmentOf('temporal');
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
      dynamicConfigClient: { filepath: topology.hostPath('temporal', path.posix.join('/etc/temporal', serverEnv.DYNAMIC_CONFIG_FILE_PATH ?? '')), pollInterval: '10s' },
    };
    mkdirSync(path.join(workDir, 'temporal', 'config'), { recursive: true });
    // JSON is YAML: the server reads config/compose.yaml.
    writeFileSync(path.join(workDir, 'temporal', 'config', 'compose.yaml'), JSON.stringify(serverConfig, null, 2));
    // temporal-namespace has no depends_on: it starts beside the server and waits for it by itself.
    namespaceJob = topology.stackOneShot('temporal-namespace', path.join(workDir, 'stack-data'));
    temporalServer = topology.longRunning('temporal', tools.server, ['--root', path.join(workDir, 'temporal'), '--env', 'compose', '--allow-no-auth', 'start'], serverEnv);
    const cliPath = `${path.dirname(inject('temporalCli'))}:${process.env.PATH}`;
    await waitUntil('the Temporal server passes its compose health check', 90_000, async () => {
      if (temporalServer.process.exitCode !== null) throw new Error(`temporal-server exited (${temporalServer.process.exitCode}):\n${topology.recentLogs('temporal')}`);
      return topology.healthCheck('temporal', { ...serverEnv, PATH: cliPath });
    }, 1_000);
    const registered = await namespaceJob;
    expect(registered).toContain('namespace default registered');
    expect(registered).toContain(`search attribute ${STREAM_SEARCH_ATTRIBUTE} created`);
  }, 240_000);

  afterAll(async () => {
    await topology?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('makes Temporal’s databases owned by the temporal role, and its schema job and namespace job can run again', async () => {
    const postgres = topology.postgres!;
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
    expect(await schemaJob('temporal-schema (again)')).toContain('database temporal_visibility is at the newest visibility schema');
    const namespace = await topology.stackOneShot('temporal-namespace', path.join(workDir, 'stack-data'));
    expect(namespace).toContain('namespace default exists');
    expect(namespace).toContain(`search attribute ${STREAM_SEARCH_ATTRIBUTE} exists`);
    const tools = serverTools();
    const validated = await topology.oneShot('temporal dynamic config', tools.server, ['validate-dynamic-config', topology.hostPath('temporal', '/etc/temporal/config/dynamicconfig/restaurant.yaml')], { PATH: process.env.PATH ?? '' });
    expect(validated).not.toMatch(/unknown|invalid/i);
  });

  it('migrates, runs the worker, the event API and the one-shots with compose’s environment, and ingests into the warehouse', async () => {
    const { ports } = topology;
    const stackData = path.join(workDir, 'stack-data');
    await topology.stackOneShot('migrate', stackData);

    const api = topology.stackService('api', path.join(workDir, 'api-data'));
    // The worker keeps the checkout's data folder for its cached workflow bundle.
    const worker = topology.stackService('worker', loadConfig().DATA_DIR);
    const workerEnv = topology.environmentOf('worker');
    expect(workerEnv.DATABASE_URL).toMatch(new RegExp(`^postgres://restaurant_etl:.*/${variables.WAREHOUSE_DATABASE}$`));
    await waitUntil('the event API and the worker pass their compose health checks', 90_000, async () => {
      for (const child of [api, worker]) if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${topology.recentLogs(child.name)}`);
      return (await topology.healthCheck('api', topology.environmentOf('api'))) && (await topology.healthCheck('worker', workerEnv));
    }, 500).catch((error: Error) => {
      throw new Error(`${error.message}\n${topology.recentLogs('api')}\n${topology.recentLogs('worker')}`);
    });

    expect(await topology.stackOneShot('ingest-start', stackData)).toContain('started ingestion workflow restaurant_realtime_stream: stream restaurant_realtime_stream (realtime)');
    await topology.stackOneShot('maintenance-schedule', stackData);

    const warehouse = new pg.Client({ connectionString: topology.postgres!.adminUrl.replace(/\/postgres$/, `/${variables.WAREHOUSE_DATABASE}`) });
    await warehouse.connect();
    onTestFinished(() => warehouse.end());
    await expect
      .poll(async () => Number((await warehouse.query<{ n: string }>('SELECT count(*) AS n FROM raw_data.events_raw')).rows[0]?.n), { timeout: 60_000, interval: 500 })
      .toBeGreaterThan(50);

    // The maintenance Schedule exists and its run, triggered now, completes as the worker's ETL role.
    const scheduleId = topology.environmentOf('maintenance-schedule').MAINTENANCE_SCHEDULE_ID!;
    const temporalCli = (args: string[]) => topology.oneShot('temporal', inject('temporalCli'), [...args, '--address', `127.0.0.1:${ports.temporal}`], { PATH: process.env.PATH ?? '', HOME: workDir });
    expect(JSON.parse(await temporalCli(['schedule', 'describe', '--schedule-id', scheduleId, '--output', 'json']))).toMatchObject({
      schedule: { action: { startWorkflow: { workflowType: { name: 'restaurantMaintenance' } } } },
    });
    await temporalCli(['schedule', 'trigger', '--schedule-id', scheduleId]);
    await expect
      .poll(async () => (await warehouse.query<{ task: string; status: string }>('SELECT task, status FROM analytics.maintenance_results ORDER BY id')).rows.map((row) => row.task), { timeout: 60_000, interval: 500 })
      .toEqual(['health_check', 'data_consistency', 'raw_retention', 'rollup_folding', 'analyze']);

    // Every metric the alert rules and the Grafana dashboard read is one the worker or the API exports.
    const scrape = async (port: number) => parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    // The streams' gauges come from the warehouse every 5 s, and the sessions' counters with their heartbeat tick.
    const ready = (metrics: Map<string, number>) =>
      total(metrics, 'temporal_workflow_completed_total', 'workflow_type="restaurantMaintenance"') > 0 &&
      total(metrics, 'restaurant_ingest_events_total') > 50 &&
      [...metrics.keys()].some((key) => key.startsWith('restaurant_ingest_waiting_since_timestamp_seconds{'));
    await expect.poll(async () => ready(await scrape(ports.metrics)), { timeout: 15_000, interval: 500 }).toBe(true);
    const metrics = await scrape(ports.metrics);
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
    expect(await topology.healthCheck('worker', workerEnv)).toBe(false);
  }, 240_000);
});
