import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { loadConfig } from '../config/env.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../stack/embedded-postgres.js';
import { removeFinishedRuns } from '../stack/orphans.js';
import { findFreePort } from '../stack/ports.js';
import { resolveTemporalCli, startTemporalDevServer, type TemporalDevServer } from '../stack/temporal-server.js';
import { ensureWarehouseDatabase, migrateWarehouse } from '../warehouse/migrate.js';
import { ETL_ROLE, roleConnectionString } from '../warehouse/roles.js';
import { ensureBuilt } from './build.js';
import { BenchProcesses, runLog } from './processes.js';

export interface BenchEnvironmentOptions {
  /** An existing PostgreSQL server (superuser URL); default: an embedded one of this run's own. */
  readonly serverUrl?: string;
  /** An existing Temporal frontend; default: a dev server of this run's own, started when first needed. */
  readonly temporalAddress?: string;
  /** Extra server settings for the embedded PostgreSQL (profiling loads pg_stat_statements). */
  readonly postgresSettings?: Record<string, string>;
  readonly log: (line: string) => void;
}

/** A migrated warehouse database of its own for one measurement. */
export interface BenchWarehouse {
  readonly name: string;
  readonly adminUrl: string;
  /** What the worker connects with: the ETL role, as `up` does, when this run owns the server. */
  readonly workerUrl: string;
  readonly pool: pg.Pool;
  /** A session of its own, for a measurement that needs one connection throughout; end() it. */
  connect(): Promise<pg.Client>;
  drop(): Promise<void>;
}

const TEMPORAL_DB_FILE = 'temporal.sqlite';

export interface BenchTemporal {
  readonly address: string;
  readonly client: Client;
}

/**
 * Everything a run provisions for itself, so it measures the same on a fresh machine: an embedded
 * PostgreSQL with its default, durable settings (fsync on), a Temporal dev server as `up` runs it,
 * one migrated database per measurement, and the API and worker processes. When the run ends all but
 * its logs is removed; the logs stay in the run folder until the next run.
 */
export class BenchEnvironment {
  private temporalStarted: Promise<BenchTemporal> | undefined;
  private devServer: TemporalDevServer | undefined;
  private closing: Promise<void> | undefined;
  private readonly etlPassword = randomBytes(18).toString('base64url');

  private constructor(
    readonly runDir: string,
    readonly serverUrl: string,
    readonly processes: BenchProcesses,
    private readonly options: BenchEnvironmentOptions,
    private readonly embedded: EmbeddedPostgres | undefined,
  ) {}

  static async open(options: BenchEnvironmentOptions): Promise<BenchEnvironment> {
    const config = loadConfig();
    const runsDir = path.join(config.DATA_DIR, 'bench-runs');
    await removeFinishedRuns(runsDir, options.log);
    const runDir = path.join(runsDir, String(process.pid));
    mkdirSync(runDir, { recursive: true });
    let embedded: EmbeddedPostgres | undefined;
    if (!options.serverUrl) {
      options.log(`starting an embedded PostgreSQL in ${runDir} (as npm start runs it: fsync on, synchronous_commit on, shared_buffers a quarter of memory up to 1 GB, max_wal_size 4 GB)`);
      embedded = await startEmbeddedPostgres({
        clusterDir: path.join(runDir, 'postgres'),
        preferredPort: 0,
        sink: runLog(runDir, 'postgres'),
        settings: options.postgresSettings,
      });
    }
    const serverUrl = options.serverUrl ?? embedded!.adminUrl;
    return new BenchEnvironment(runDir, serverUrl, new BenchProcesses(runDir, config.DATA_DIR), options, embedded);
  }

  /** The postmaster's pid when this run owns the server: its children are the backends doing the work. */
  get postgresPid(): number | undefined {
    return this.embedded?.child.process.pid;
  }

  get temporalPid(): number | undefined {
    return this.devServer?.child.process.pid;
  }

  temporal(): Promise<BenchTemporal> {
    this.temporalStarted ??= this.startTemporal();
    return this.temporalStarted;
  }

  async createWarehouse(label: string): Promise<BenchWarehouse> {
    const name = `bench_${label.replace(/[^a-z0-9]+/g, '_')}_${randomBytes(3).toString('hex')}`;
    const adminUrl = await ensureWarehouseDatabase(this.serverUrl, name);
    await migrateWarehouse({ connectionString: adminUrl, passwords: this.embedded ? { etl: this.etlPassword } : undefined });
    const pool = new pg.Pool({ connectionString: adminUrl, max: 4, application_name: 'restaurant-bench' });
    pool.on('error', () => undefined);
    return {
      name,
      adminUrl,
      workerUrl: this.embedded ? roleConnectionString(adminUrl, ETL_ROLE, this.etlPassword) : adminUrl,
      pool,
      connect: async () => {
        const client = new pg.Client({ connectionString: adminUrl, application_name: 'restaurant-bench' });
        // A server stopping under an idle session (an interrupted run) must not end the process.
        client.on('error', () => undefined);
        await client.connect();
        return client;
      },
      drop: async () => {
        await pool.end();
        const admin = new pg.Client({ connectionString: this.serverUrl });
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
        } finally {
          await admin.end();
        }
      },
    };
  }

  /** Stops everything the run started and removes all of the run folder but its logs; safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.processes.stopAll();
        await this.devServer?.stop();
        await this.embedded?.stop();
        // Last: an interrupted measurement may still be calling Temporal, and a call on a closed
        // connection throws outside any promise, where a call to a stopped server merely fails.
        if (this.temporalStarted) await (await this.temporalStarted.catch(() => undefined))?.client.connection.close();
      } finally {
        for (const entry of readdirSync(this.runDir)) if (entry !== 'logs') rmSync(path.join(this.runDir, entry), { recursive: true, force: true });
      }
    })();
    return this.closing;
  }

  private async startTemporal(): Promise<BenchTemporal> {
    const config = loadConfig();
    let address = this.options.temporalAddress;
    if (!address) {
      const cli = await resolveTemporalCli({ explicit: config.TEMPORAL_CLI, toolsDir: config.TOOLS_DIR, sink: this.options.log });
      this.devServer = await startTemporalDevServer({
        cli,
        port: await findFreePort(),
        dbFile: path.join(this.runDir, TEMPORAL_DB_FILE),
        namespace: 'default',
        sink: runLog(this.runDir, 'temporal'),
      });
      address = this.devServer.address;
    }
    // Every worker below runs the compiled dist/, with the workflow bundle the build made.
    ensureBuilt(this.options.log);
    const connection = await Connection.connect({ address });
    return { address, client: new Client({ connection, namespace: 'default' }) };
  }
}
