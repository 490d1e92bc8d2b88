import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig, projectRoot } from '../config/env.js';
import { startEmbeddedPostgres } from '../stack/embedded-postgres.js';
import { removeFinishedRuns } from '../stack/orphans.js';
import { findFreePort } from '../stack/ports.js';
import { resolveTemporalCli, startTemporalDevServer } from '../stack/temporal-server.js';
import { loadWorkflowBundle } from '../worker/workflow-bundle.js';
import { resolveTemporalServerTools, type TemporalServerTools } from './support/temporal-server-tools.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL server the tests share; each test file makes its own database. */
    postgresAdminUrl: string;
    temporalAddress: string;
    temporalCli: string;
    /** The Temporal server and temporal-sql-tool built from Go, for the compose topology test; or why they could not be had. */
    temporalServerTools: TemporalServerTools | { unavailable: string };
  }
}

interface SharedServices {
  postgresAdminUrl: string;
  temporalAddress: string;
  temporalCli: string;
  temporalServerTools: TemporalServerTools | { unavailable: string };
  stop: () => Promise<void>;
}

/** The unit and e2e projects each call the global setup: they share one set of servers, stopped by the last. */
const registry = globalThis as typeof globalThis & { restaurantTestServices?: { users: number; services: Promise<SharedServices> } };

/**
 * One PostgreSQL and one Temporal dev server for the whole run. TEST_DATABASE_URL (or DATABASE_URL)
 * names an existing server; otherwise an embedded one is started with fsync off.
 */
export default async function setup(project: TestProject) {
  registry.restaurantTestServices ??= { users: 0, services: startServices() };
  const shared = registry.restaurantTestServices;
  shared.users += 1;
  const services = await shared.services;
  project.provide('postgresAdminUrl', services.postgresAdminUrl);
  project.provide('temporalAddress', services.temporalAddress);
  project.provide('temporalCli', services.temporalCli);
  project.provide('temporalServerTools', services.temporalServerTools);

  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    registry.restaurantTestServices = undefined;
    await services.stop();
  };
}

async function startServices(): Promise<SharedServices> {
  // The system packages the deployment tests use (`npm test` on a fresh machine provisions them as CI
  // does; without root it says which are missing and those tests name them when they fail).
  spawnSync('bash', [path.join(projectRoot, '.ci', 'provision')], { stdio: 'inherit' });
  const config = loadConfig();
  // One folder per run: several runs (developers, CI) may share a checkout at the same time.
  const runsDir = path.join(config.DATA_DIR, 'test-runs');
  await removeFinishedRuns(runsDir, (line) => console.log(`[global-setup] ${line}`));
  const runDir = path.join(runsDir, String(process.pid));
  mkdirSync(runDir, { recursive: true });
  const logFile = (name: string) => {
    const stream = createWriteStream(path.join(runDir, `${name}.log`));
    return (line: string) => stream.write(`${line}\n`);
  };
  const stops: Array<() => Promise<void>> = [];

  const givenUrl = process.env.TEST_DATABASE_URL ?? config.DATABASE_URL;
  let postgresAdminUrl = givenUrl;
  if (!postgresAdminUrl) {
    const postgres = await startEmbeddedPostgres({
      clusterDir: path.join(runDir, 'postgres'),
      preferredPort: 0,
      sink: logFile('postgres'),
      settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' },
    });
    stops.push(postgres.stop);
    postgresAdminUrl = postgres.adminUrl;
  }

  const setupSink = (line: string) => console.log(`[global-setup] ${line}`);
  // Built with Go once, cached in TOOLS_DIR: cold, the CLI takes ~4 min and the server ~4 min more.
  const [temporalCli, temporalServerTools] = await Promise.all([
    resolveTemporalCli({ explicit: config.TEMPORAL_CLI, toolsDir: config.TOOLS_DIR, sink: setupSink }),
    // Only the compose topology test needs these: without them it fails with the reason, the rest runs.
    resolveTemporalServerTools(config.TOOLS_DIR, setupSink).catch((error: unknown) => ({ unavailable: error instanceof Error ? error.message : String(error) })),
  ]);
  const temporal = await startTemporalDevServer({
    cli: temporalCli,
    port: await findFreePort(),
    namespace: 'default',
    sink: logFile('temporal'),
    // Workflows continue as new after ~60 history events instead of ~4,000, so every longer test
    // crosses continue-as-new and carries its state over.
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
  });
  stops.push(temporal.stop);

  // Built once here; every test worker then reads the cached bundle.
  await loadWorkflowBundle(config.DATA_DIR);

  return {
    postgresAdminUrl,
    temporalAddress: temporal.address,
    temporalCli,
    temporalServerTools,
    async stop() {
      for (const stop of stops.reverse()) await stop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}
