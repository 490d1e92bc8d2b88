import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../config/env.js';
import { spawnSupervised, type SupervisedChild } from '../../stack/child-process.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../stack/embedded-postgres.js';
import { findFreePort } from '../../stack/ports.js';
import { volumeSource, volumeTarget, type ComposeService, type ResolvedCompose } from './compose.js';

/*
 * A resolved compose file's services run on this machine without Docker, each with the command, script
 * and environment the file gives it. Only the network differs: `postgres:5432`, `temporal:7233`,
 * `api:8000` and the worker's 9464 become free local ports, and paths inside a container become the
 * host paths of the service's bind mounts.
 */

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');

export interface TopologyPorts {
  temporal: number;
  api: number;
  metrics: number;
}

export class ComposeTopology {
  readonly logs: string[] = [];
  readonly children: SupervisedChild[] = [];
  postgres?: EmbeddedPostgres;

  constructor(
    readonly compose: ResolvedCompose,
    readonly workDir: string,
    readonly ports: TopologyPorts,
  ) {}

  static async ports(): Promise<TopologyPorts> {
    return { temporal: await findFreePort(), api: await findFreePort(), metrics: await findFreePort() };
  }

  sink = (name: string) => (line: string) => void this.logs.push(`${name} | ${line}`);
  recentLogs = (name: string) =>
    this.logs
      .filter((line) => line.startsWith(`${name} |`))
      .slice(-8)
      .map((line) => line.slice(0, 400))
      .join('\n');

  service(name: string): ComposeService {
    const found = this.compose.services[name];
    if (!found) throw new Error(`the compose file has no service ${name}`);
    return found;
  }

  /** A path inside the service's container, on this machine through the service's bind mounts. */
  hostPath(name: string, containerPath: string): string {
    for (const volume of this.service(name).volumes ?? []) {
      const target = volumeTarget(volume);
      if (containerPath === target || containerPath.startsWith(`${target}/`)) return path.join(volumeSource(volume), containerPath.slice(target.length));
    }
    throw new Error(`${containerPath} is not mounted into ${name}`);
  }

  private isMounted(name: string, value: string): boolean {
    return (this.service(name).volumes ?? []).some((volume) => path.isAbsolute(volumeSource(volume)) && value.startsWith(`${volumeTarget(volume)}/`));
  }

  /** The service's environment on this machine: compose's host names become local ports, mounted paths host paths. */
  environmentOf(name: string, extra: Record<string, string> = {}): Record<string, string> {
    const postgresPort = this.postgres?.port ?? 0;
    const local: Record<string, string> = {};
    for (const [key, value] of Object.entries(this.service(name).environment ?? {})) {
      const text = value ?? '';
      local[key] = this.isMounted(name, text)
        ? this.hostPath(name, text)
        : text
            .replaceAll('postgres:5432', `127.0.0.1:${postgresPort}`)
            .replaceAll('temporal:7233', `127.0.0.1:${this.ports.temporal}`)
            .replaceAll('api:8000', `127.0.0.1:${this.ports.api}`);
    }
    if (local.POSTGRES_SEEDS === 'postgres') local.POSTGRES_SEEDS = '127.0.0.1';
    if (local.DB_PORT === '5432') local.DB_PORT = String(postgresPort);
    if (local.METRICS_HOST === '0.0.0.0') local.METRICS_HOST = '127.0.0.1';
    if (local.METRICS_PORT === '9464') local.METRICS_PORT = String(this.ports.metrics);
    return { PATH: process.env.PATH ?? '', HOME: this.workDir, ...local, ...extra };
  }

  /** The stack image's command for a service, as `node bin/restaurant-stack.js …` with local ports. */
  stackArgs(name: string): string[] {
    return [cli, ...(this.service(name).command ?? [])].map((arg, index, all) => {
      if (all[index - 1] === '--host' && arg === '0.0.0.0') return '127.0.0.1';
      if (all[index - 1] === '--port' && arg === '8000') return String(this.ports.api);
      return arg;
    });
  }

  async oneShot(name: string, command: string, args: string[], env: Record<string, string>): Promise<string> {
    try {
      const { stdout, stderr } = await run(command, args, { env, cwd: projectRoot, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
      this.sink(name)(`${stdout}${stderr}`);
      return stdout;
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      throw new Error(`${name} failed (exit ${failed.code}):\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, { cause: error });
    }
  }

  longRunning(name: string, command: string, args: string[], env: Record<string, string>): SupervisedChild {
    // stdin is a lifeline: these end with the test run even if it dies.
    const child = spawnSupervised(name, command, args, { sink: this.sink(name), env: { ...env, RESTAURANT_STACK_SUPERVISED: '1' }, cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    return child;
  }

  /** A service of the stack image run as the image would: production mode, its data folder. */
  stackOneShot(name: string, dataDir: string, extra: Record<string, string> = {}): Promise<string> {
    return this.oneShot(name, process.execPath, this.stackArgs(name), { ...this.environmentOf(name, extra), NODE_ENV: 'production', DATA_DIR: dataDir });
  }

  /** Another command of the stack image with a service's environment, as `docker compose run <service> <args>` would run it. */
  stackCommand(name: string, args: string[], dataDir: string): Promise<string> {
    return this.oneShot(`${name} ${args.join(' ')}`, process.execPath, [cli, ...args], { ...this.environmentOf(name), NODE_ENV: 'production', DATA_DIR: dataDir });
  }

  stackService(name: string, dataDir: string): SupervisedChild {
    return this.longRunning(name, process.execPath, this.stackArgs(name), { ...this.environmentOf(name), NODE_ENV: 'production', DATA_DIR: dataDir });
  }

  /** The service's own health check command, run here. */
  async healthCheck(name: string, env: Record<string, string>): Promise<boolean> {
    const test = this.service(name).healthcheck?.test;
    if (!Array.isArray(test)) throw new Error(`${name} has no health check`);
    const [kind, ...command] = test;
    const local = command.map((part) =>
      part
        .replaceAll('temporal:7233', `127.0.0.1:${this.ports.temporal}`)
        .replaceAll('127.0.0.1:9464', `127.0.0.1:${this.ports.metrics}`)
        .replaceAll('127.0.0.1:8000', `127.0.0.1:${this.ports.api}`),
    );
    const [file, ...args] = kind === 'CMD-SHELL' ? ['sh', '-c', local.join(' ')] : local;
    try {
      await run(file!, args, { env, timeout: 10_000 });
      return true;
    } catch {
      return false;
    }
  }

  /** postgres: an embedded PostgreSQL 15 with the image's superuser and password, then its init scripts via psql. */
  async startPostgres(): Promise<EmbeddedPostgres> {
    const postgresEnv = this.service('postgres').environment ?? {};
    const clusterDir = path.join(this.workDir, 'postgres', 'cluster');
    mkdirSync(path.dirname(clusterDir), { recursive: true });
    writeFileSync(path.join(this.workDir, 'postgres', 'postgres-admin-password'), `${postgresEnv.POSTGRES_PASSWORD}\n`, { mode: 0o600 });
    this.postgres = await startEmbeddedPostgres({ clusterDir, preferredPort: 0, sink: this.sink('postgres'), settings: { fsync: 'off', max_connections: '200' } });
    const initDir = this.hostPath('postgres', '/docker-entrypoint-initdb.d');
    for (const script of readdirSync(initDir).filter((file) => file.endsWith('.sh')).toSorted()) {
      await this.oneShot(`postgres init ${script}`, 'bash', [path.join(initDir, script)], {
        ...this.environmentOf('postgres'),
        PGHOST: '127.0.0.1',
        PGPORT: String(this.postgres.port),
        PGPASSWORD: postgresEnv.POSTGRES_PASSWORD ?? '',
      });
    }
    return this.postgres;
  }

  async stop(): Promise<void> {
    for (const child of this.children.toReversed()) await child.stop('SIGTERM', 15_000);
    await this.postgres?.stop();
  }
}

/** docker-compose.yml's required variables, as an operator's .env gives them. */
export const REQUIRED_TOPOLOGY_VARIABLES = {
  POSTGRES_SUPERUSER_PASSWORD: 'topology-superuser',
  TEMPORAL_DB_PASSWORD: 'topology-temporal',
  METABASE_DB_PASSWORD: 'topology-metabase',
  MB_ENCRYPTION_SECRET_KEY: 'topology-metabase-encryption-key',
  RESTAURANT_DB_PASSWORD: 'topology-restaurant',
  ETL_DB_PASSWORD: 'topology-etl',
  ANALYTICS_READER_PASSWORD: 'topology-reader',
  MB_ADMIN_EMAIL: 'owner@bistro.example.com',
  MB_ADMIN_PASSWORD: 'grill-and-tip-2026',
  PGADMIN_DEFAULT_EMAIL: 'owner@bistro.example.com',
  PGADMIN_DEFAULT_PASSWORD: 'topology-pgadmin',
  GRAFANA_ADMIN_PASSWORD: 'topology-grafana',
};
