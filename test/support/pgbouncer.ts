import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findFreePort } from '../../stack/ports.js';
import { waitUntil } from '../../stack/wait.js';
import { requireSystemTool } from './system-tools.js';

export interface PgBouncer {
  /** The URL of `database` through the pooler, with the server URL's user and password. */
  urlFor(database: string): string;
  /** What PgBouncer logged (connections it opened and closed, and why). */
  log(): string;
  stop(): Promise<void>;
}

/** PgBouncer refuses to run as root: started by root, it switches to this user once it has read its files. */
const UNPRIVILEGED_USER = 'nobody';

/**
 * Debian's PgBouncer as a child process in transaction pooling mode, in front of the server
 * `serverUrl` names (its user and password authenticate through it, by SCRAM). `poolSize` server
 * connections per database and user, fewer than the workers' client connections, so they are shared.
 */
export async function startPgBouncer(serverUrl: string, options: { poolSize: number }): Promise<PgBouncer> {
  requireSystemTool('pgbouncer', 'pgbouncer');
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username);
  const password = decodeURIComponent(server.password);
  const port = await findFreePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pgbouncer-'));
  const ini = path.join(dir, 'pgbouncer.ini');
  const users = path.join(dir, 'users.txt');
  writeFileSync(users, `"${user}" "${password}"\n`, { mode: 0o600 });
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${users}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 200',
      'logfile =',
      'pidfile =',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', UNPRIVILEGED_USER], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', UNPRIVILEGED_USER], { encoding: 'utf8' }));
    for (const file of [dir, ini, users]) chownSync(file, uid, gid);
  }
  const child = spawn('pgbouncer', [...(asRoot ? ['-u', UNPRIVILEGED_USER] : []), ini], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const urlFor = (database: string) => {
    const url = new URL(serverUrl);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil('PgBouncer accepts connections', 30_000, async () => {
      if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${output}`);
      const client = new pg.Client({ connectionString: urlFor(server.pathname.slice(1) || 'postgres') });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { urlFor, log: () => output, stop };
}
