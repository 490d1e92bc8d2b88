import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../config/env.js';
import { STREAM_SEARCH_ATTRIBUTE } from '../../contracts/ingestion.js';
import { waitUntil } from '../../stack/wait.js';
import { CLOUD_OVERRIDE, COMPOSE_FILE, resolveCompose, startsByDefault } from '../support/compose.js';
import { ComposeTopology, REQUIRED_TOPOLOGY_VARIABLES } from '../support/compose-topology.js';
import { requireSystemTool } from '../support/system-tools.js';
import { makeCertificates, startMutualTlsProxy, TLS_SERVER_NAME } from '../support/temporal-tls.js';

/*
 * docker-compose.yml with docker-compose.cloud.yml, run without Docker as compose-topology.test.ts runs
 * the plain file: the stack against a secured Temporal cluster instead of its own. The cluster is the
 * tests' Temporal server behind a mutual-TLS front door (Temporal Cloud style); the operator's files —
 * the CA, the client certificate and key, a streams file — sit in STACK_FILES_DIR, and the source's
 * token in SOURCE_CREDENTIALS_FILE. The Temporal settings use the `temporal` CLI's names, current and
 * v1.x mixed. What runs: postgres (embedded, with its init scripts), temporal-namespace, migrate, api,
 * worker, ingest-start, maintenance-schedule — and no local Temporal.
 */

describe('the docker-compose topology with docker-compose.cloud.yml, against a secured cluster', () => {
  const id = `cloud-topology-${process.pid}`;
  const stream = `cloud_topology_${process.pid}`;
  const sourceToken = 'bistro-source-token-2026';
  let topology: ComposeTopology;
  let workDir: string;
  let filesDir: string;
  let proxy: tls.Server;
  let clusterAddress: string;

  beforeAll(async () => {
    requireSystemTool('psql', 'postgresql-client');
    workDir = mkdtempSync(path.join(tmpdir(), 'compose-cloud-topology-'));
    // The embedded PostgreSQL runs as the postgres system user when the tests run as root.
    chmodSync(workDir, 0o755);
    filesDir = path.join(workDir, 'stack-files');
    mkdirSync(filesDir);
    makeCertificates(filesDir);
    ({ server: proxy, address: clusterAddress } = await startMutualTlsProxy(filesDir, inject('temporalAddress')));
    const ports = await ComposeTopology.ports();
    // The operator's streams file names the source and the variable holding its token, never the token.
    writeFileSync(path.join(filesDir, 'streams.yaml'), `streams:\n  - name: ${stream}\n    source: http://127.0.0.1:${ports.api}\n    tokenEnv: BISTRO_API_TOKEN\n`);
    writeFileSync(path.join(workDir, 'sources.env'), `BISTRO_API_TOKEN=${sourceToken}\n`);
    const compose = await resolveCompose(
      {
        ...REQUIRED_TOPOLOGY_VARIABLES,
        TEMPORAL_ADDRESS: clusterAddress,
        TEMPORAL_NAMESPACE: 'default',
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/etc/restaurant-stack/ca.pem',
        TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
        TEMPORAL_TLS_CERT: '/etc/restaurant-stack/client.pem',
        TEMPORAL_TLS_CLIENT_KEY_PATH: '/etc/restaurant-stack/client.key',
        // Shares the tests' Temporal server: its own task queue, schedule and workflow ids.
        TEMPORAL_TASK_QUEUE: id,
        MAINTENANCE_SCHEDULE_ID: id,
        STACK_FILES_DIR: filesDir,
        STREAMS_FILE: '/etc/restaurant-stack/streams.yaml',
        SOURCE_CREDENTIALS_FILE: path.join(workDir, 'sources.env'),
        API_TOKEN: sourceToken,
        API_RATE: '100',
        INGEST_SESSION_SECONDS: '3',
      },
      path.join(workDir, '.env'),
      [COMPOSE_FILE, CLOUD_OVERRIDE],
    );
    topology = new ComposeTopology(compose, workDir, ports);
  }, 120_000);

  afterAll(async () => {
    await topology?.stop();
    proxy?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('starts no local Temporal, checks the cluster’s namespace, and ingests the streams file’s source with its token over mTLS', async () => {
    const started = Object.entries(topology.compose.services).filter(([, service]) => startsByDefault(service)).map(([name]) => name);
    expect(started).not.toEqual(expect.arrayContaining(['temporal']));
    expect(started.filter((name) => name.startsWith('temporal'))).toEqual(['temporal-namespace']);

    // In depends_on order: postgres, then migrate; temporal-namespace needs nothing but the cluster.
    await topology.startPostgres();
    const stackData = path.join(workDir, 'stack-data');
    const namespace = await topology.stackOneShot('temporal-namespace', stackData);
    expect(namespace).toContain(`namespace default exists at ${clusterAddress}`);
    expect(namespace).toContain(`search attribute ${STREAM_SEARCH_ATTRIBUTE} exists`);
    await topology.stackOneShot('migrate', stackData);

    const api = topology.stackService('api', path.join(workDir, 'api-data'));
    const worker = topology.stackService('worker', loadConfig().DATA_DIR);
    const workerEnv = topology.environmentOf('worker');
    // The certificates reach the worker as files it can read, under the names the operator gave.
    expect(workerEnv.TEMPORAL_TLS_CERT).toBe(path.join(filesDir, 'client.pem'));
    await waitUntil('the event API and the worker pass their compose health checks', 90_000, async () => {
      for (const child of [api, worker]) if (child.process.exitCode !== null) throw new Error(`${child.name} exited:\n${topology.recentLogs(child.name)}`);
      return (await topology.healthCheck('api', topology.environmentOf('api'))) && (await topology.healthCheck('worker', workerEnv));
    }, 500).catch((error: Error) => {
      throw new Error(`${error.message}\n${topology.recentLogs('api')}\n${topology.recentLogs('worker')}`);
    });
    // The built-in API refuses a request without its token: the worker's token is what lets it in.
    expect((await fetch(`http://127.0.0.1:${topology.ports.api}/events?limit=1`)).status).toBe(401);

    const ingestStart = await topology.stackOneShot('ingest-start', stackData);
    expect(ingestStart).toContain(`started ingestion workflow restaurant_stream:${stream}: stream ${stream} (realtime)`);
    // The tests' Temporal server outlives this file: leave nothing of it running there.
    onTestFinished(async () => {
      await topology.stackCommand('ingest-start', ['ingest', 'stop', '--stream', stream], stackData);
    });
    expect(await topology.stackOneShot('maintenance-schedule', stackData)).toContain(`schedule ${id}`);
    onTestFinished(async () => {
      await topology.oneShot('temporal', inject('temporalCli'), ['schedule', 'delete', '--schedule-id', id, '--address', inject('temporalAddress')], { PATH: process.env.PATH ?? '', HOME: workDir });
    });

    const warehouse = new pg.Client({ connectionString: topology.postgres!.adminUrl.replace(/\/postgres$/, '/restaurant_analytics') });
    await warehouse.connect();
    onTestFinished(() => warehouse.end());
    await expect
      .poll(async () => Number((await warehouse.query<{ n: string }>('SELECT count(*) AS n FROM raw_data.events_raw WHERE stream_name = $1', [stream])).rows[0]?.n), {
        timeout: 60_000,
        interval: 500,
      })
      .toBeGreaterThan(50);
    expect(await (await fetch(`http://127.0.0.1:${topology.ports.metrics}/readyz`)).json()).toEqual({ ready: true, checks: { temporal: true, postgres: true, worker: true } });
  }, 240_000);
});
