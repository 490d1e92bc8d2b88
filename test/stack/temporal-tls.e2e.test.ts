import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, projectRoot } from '../../config/env.js';
import { temporalTarget } from '../../config/temporal.js';
import { STREAM_SEARCH_ATTRIBUTE } from '../../contracts/ingestion.js';
import { findFreePort } from '../../stack/ports.js';
import { waitUntil } from '../../stack/wait.js';
import { connectWorkerToTemporal } from '../../worker/connections.js';
import { makeCertificates, startMutualTlsProxy, TLS_SERVER_NAME } from '../support/temporal-tls.js';

const run = promisify(execFile);

describe('Temporal over TLS with a client certificate (a secured cluster, Temporal Cloud style)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  let proxy: tls.Server;
  let address: string;
  beforeAll(async () => {
    makeCertificates(dir);
    ({ server: proxy, address } = await startMutualTlsProxy(dir, inject('temporalAddress')));
  });
  afterAll(() => {
    proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsEnv = () => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CA_PATH: path.join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
    TEMPORAL_TLS_CERT_PATH: path.join(dir, 'client.pem'),
    TEMPORAL_TLS_KEY_PATH: path.join(dir, 'client.key'),
  });
  const stack = (env: Record<string, string>, ...args: string[]) =>
    run(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), ...args], { env: { ...process.env, REALTIME_WORKFLOW_ID: 'tls-probe', ...env } });

  it('the CLI connects with the CA, the server name and the client pair', async () => {
    const { stdout } = await stack(tlsEnv(), 'ingest', 'status');
    expect(stdout).toContain('not started');
  });

  it('the worker connects the same way', async () => {
    const connection = await connectWorkerToTemporal(temporalTarget(loadConfig({ ...tlsEnv() })));
    await connection.close();
  });

  it('without the client certificate the cluster refuses it, and the CLI says it cannot reach Temporal', async () => {
    const { TEMPORAL_TLS_CERT_PATH: _cert, TEMPORAL_TLS_KEY_PATH: _key, ...withoutClientPair } = tlsEnv();
    await expect(stack(withoutClientPair, 'ingest', 'status')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(`cannot reach Temporal at ${address}`) });
  });

  it('an API key (Temporal Cloud) turns TLS on and travels as the connection\'s API key', () => {
    const target = temporalTarget(loadConfig({ TEMPORAL_ADDRESS: 'restaurants.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'restaurants.a1b2c', TEMPORAL_API_KEY: 'key-123' }));
    expect(target).toMatchObject({ address: 'restaurants.a1b2c.tmprl.cloud:7233', namespace: 'restaurants.a1b2c', apiKey: 'key-123', tls: {} });
  });

  it('a half-given client pair or an unreadable file is a one-line configuration error', async () => {
    await expect(stack({ ...tlsEnv(), TEMPORAL_TLS_KEY_PATH: '' }, 'ingest', 'status')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('TEMPORAL_TLS_KEY_PATH: mTLS needs both TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH'),
    });
    await expect(stack({ ...tlsEnv(), TEMPORAL_TLS_CA_PATH: path.join(dir, 'missing.pem') }, 'ingest', 'status')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(`TEMPORAL_TLS_CA_PATH: cannot read ${path.join(dir, 'missing.pem')} (ENOENT)`),
    });
  });

  /** The same certificates under the `temporal` CLI's names: v1.4 and later, and v1.x (compose's admin-tools image). */
  const cliNames = {
    current: () => ({
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
      TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(dir, 'client.key'),
    }),
    'v1.x': () => ({
      TEMPORAL_ADDRESS: address,
      TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
      TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
      TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
    }),
    'PEM text': () => ({
      TEMPORAL_ADDRESS: address,
      // The CA as a file: the CLI v1.5.1 refuses its CA as PEM text alone (its envconfig v0.1.0 checks for a path the wrong way round).
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
      TEMPORAL_TLS_CLIENT_CERT_DATA: readFileSync(path.join(dir, 'client.pem'), 'utf8'),
      TEMPORAL_TLS_KEY_DATA: readFileSync(path.join(dir, 'client.key'), 'utf8'),
    }),
  };

  it.each(Object.keys(cliNames) as Array<keyof typeof cliNames>)('the CLI, the worker and the `temporal` CLI itself connect with one environment in the `temporal` CLI’s names (%s)', async (names) => {
    // A clean environment: nothing of ours or of the machine's may fill in for the names under test.
    const env = { PATH: process.env.PATH ?? '', HOME: dir, ...cliNames[names]() };
    const { stdout } = await run(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'ingest', 'status'], { env: { ...env, REALTIME_WORKFLOW_ID: 'tls-probe' } });
    expect(stdout).toContain('not started');
    const connection = await connectWorkerToTemporal(temporalTarget(loadConfig(env)));
    await connection.close();
    // The Temporal CLI the tests build (v1.5.1) reads the same variables: no flags given.
    const described = await run(inject('temporalCli'), ['operator', 'namespace', 'describe', '--namespace', 'default', '--output', 'json'], { env });
    expect(JSON.parse(described.stdout)).toMatchObject({ namespaceInfo: { name: 'default' } });
  });

  it('takes the CA as PEM text too', async () => {
    const { TEMPORAL_TLS_SERVER_CA_CERT_PATH: _file, ...env } = cliNames['PEM text']();
    const { stdout } = await stack({ ...env, TEMPORAL_TLS_SERVER_CA_CERT_DATA: readFileSync(path.join(dir, 'ca.pem'), 'utf8') }, 'ingest', 'status');
    expect(stdout).toContain('not started');
  });

  it('two names of one setting that disagree stop the command, naming both', async () => {
    await expect(stack({ ...tlsEnv(), TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'server.pem') }, 'ingest', 'status')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        `TEMPORAL_TLS_CLIENT_CERT_PATH: names the same setting as TEMPORAL_TLS_CERT_PATH (${path.join(dir, 'client.pem')}) with another value: give one of them`,
      ),
    });
    // The same value under two names is one setting given twice: accepted.
    const { stdout } = await stack({ ...tlsEnv(), TEMPORAL_TLS_CERT: path.join(dir, 'client.pem') }, 'ingest', 'status');
    expect(stdout).toContain('not started');
    // PEM text is never shown, a key's least of all.
    const key = readFileSync(path.join(dir, 'client.key'), 'utf8');
    const refused = stack({ ...cliNames['PEM text'](), TEMPORAL_TLS_CLIENT_KEY_DATA: readFileSync(path.join(dir, 'server.key'), 'utf8') }, 'ingest', 'status');
    await expect(refused).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('TEMPORAL_TLS_CLIENT_KEY_DATA: names the same setting as TEMPORAL_TLS_KEY_DATA with another value') });
    await expect(refused).rejects.not.toMatchObject({ stderr: expect.stringContaining(key.slice(40, 80)) });
  });

  it('refuses TEMPORAL_TLS_DISABLE_HOST_VERIFICATION, which the SDK cannot honour, saying what to give instead', async () => {
    await expect(stack({ ...tlsEnv(), TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }, 'ingest', 'status')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the Temporal SDK of the worker and this CLI cannot skip host verification'),
    });
  });

  it('`restaurant-stack namespace` finds the namespace and its search attribute through the secured front door', async () => {
    const { stdout } = await stack({ ...cliNames.current(), TEMPORAL_NAMESPACE: 'default' }, 'namespace', '--wait-seconds', '5');
    expect(stdout).toContain(`namespace default exists at ${address}`);
    expect(stdout).toContain(`search attribute ${STREAM_SEARCH_ATTRIBUTE} exists`);
  });

  it('`up` with an external secured cluster, given only the `temporal` CLI’s names, starts a worker that ingests over it', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-up-'));
    // The embedded PostgreSQL may run as another user (when tests run as root).
    chmodSync(dataDir, 0o755);
    const id = `tls-up-${Date.now()}`;
    const env = {
      ...process.env,
      ...cliNames['v1.x'](),
      DATA_DIR: dataDir,
      DATABASE_URL: '',
      RESTAURANT_API_URL: '',
      API_RATE: '100',
      INGEST_SESSION_SECONDS: '3',
      API_PORT: String(await findFreePort(18400)),
      EMBEDDED_POSTGRES_PORT: String(await findFreePort(15600)),
      METRICS_PORT: String(await findFreePort(19600)),
      TEMPORAL_TASK_QUEUE: id,
      REALTIME_WORKFLOW_ID: id,
      MAINTENANCE_SCHEDULE_ID: id,
    };
    const up = spawn(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    up.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    up.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => up.once('exit', resolve));
    try {
      await waitUntil('the stack says it is up', 150_000, async () => {
        if (up.exitCode !== null) throw new Error(`up exited early (${up.exitCode}):\n${output}`);
        return output.includes('the stack is up');
      });
      expect(output).toContain(`Temporal         ${address}`);
      await expect
        .poll(async () => {
          const status = await run(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'ingest', 'status', '--json'], { env });
          return (JSON.parse(status.stdout) as Array<{ workflowId: string; position: { offset: number } }>).find((entry) => entry.workflowId === id)?.position.offset ?? 0;
        }, { timeout: 60_000, interval: 1_000 })
        .toBeGreaterThan(0);
      await run(process.execPath, [path.join(projectRoot, 'bin', 'restaurant-stack.js'), 'ingest', 'stop'], { env });
    } finally {
      up.kill('SIGINT');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
