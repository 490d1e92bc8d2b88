import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

/** The name the test cluster's server certificate carries (not the address it is reached at). */
export const TLS_SERVER_NAME = 'temporal.test';

/** A private CA (ca.pem) with a server certificate for TLS_SERVER_NAME and a client certificate (client.pem, client.key), made with openssl. */
export function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=restaurant test CA');
  for (const [name, extensions] of [
    ['server', `subjectAltName=DNS:${TLS_SERVER_NAME}\nextendedKeyUsage=serverAuth`],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  }
}

/**
 * A secured cluster's front door: TLS (HTTP/2 by ALPN) that requires a client certificate from the CA in
 * `dir`, passing the bytes on to a plaintext Temporal server. Resolves to its `host:port`.
 */
export function startMutualTlsProxy(dir: string, upstream: string): Promise<{ server: tls.Server; address: string }> {
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
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, address: `127.0.0.1:${(server.address() as net.AddressInfo).port}` })));
}
