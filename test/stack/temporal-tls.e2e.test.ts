import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, projectRoot } from '../../config/env.js';
import { temporalTarget } from '../../config/temporal.js';
import { connectWorkerToTemporal } from '../../worker/connections.js';

const run = promisify(execFile);
const SERVER_NAME = 'temporal.test';

/** A private CA with a server certificate for SERVER_NAME and a client certificate, made with openssl. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=restaurant test CA');
  for (const [name, extensions] of [
    ['server', `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth`],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

/**
 * A secured cluster's front door: TLS (HTTP/2 by ALPN) that requires a client certificate from the CA,
 * passing the bytes on to the test's plaintext Temporal server.
 */
function startMutualTlsProxy(dir: string, upstream: string): Promise<tls.Server> {
  const [host, port] = upstream.split(':');
  const read = (file: string) => readFileSync(path.join(dir, file));
  const server = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (socket) => {
    const backend = net.connect(Number(port), host);
    socket.pipe(backend).pipe(socket);
    const close = () => {
      socket.destroy();
      backend.destroy();
    };
    socket.on('error', close);
    backend.on('error', close);
  });
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('Temporal over TLS with a client certificate (a secured cluster, Temporal Cloud style)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-'));
  let proxy: tls.Server;
  let address: string;
  beforeAll(async () => {
    makeCertificates(dir);
    proxy = await startMutualTlsProxy(dir, inject('temporalAddress'));
    address = `127.0.0.1:${(proxy.address() as net.AddressInfo).port}`;
  });
  afterAll(() => {
    proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsEnv = () => ({
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TLS_CA_PATH: path.join(dir, 'ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
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
});
