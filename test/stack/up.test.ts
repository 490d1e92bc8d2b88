import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it, inject } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { findFreePort, isPortFree } from '../../stack/ports.js';
import { waitUntil } from '../../stack/wait.js';
import { parsePrometheus, total } from '../support/prometheus.js';

const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');
const run = promisify(execFile);

/**
 * `restaurant-stack up` as a newcomer runs it (`npm start`): embedded PostgreSQL, a Temporal dev server,
 * the event API, migrations, the worker and the realtime workflow; then `ingest status`; then Ctrl-C.
 */
describe('restaurant-stack up', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'restaurant-stack-up-'));
  // mkdtemp makes it private; the embedded PostgreSQL may run as another user (when tests run as root).
  chmodSync(dataDir, 0o755);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('starts every component, ingests, answers `ingest status`, and stops cleanly on SIGINT', async () => {
    const ports = {
      API_PORT: await findFreePort(18000),
      TEMPORAL_PORT: await findFreePort(17233),
      TEMPORAL_UI_PORT: await findFreePort(18233),
      EMBEDDED_POSTGRES_PORT: await findFreePort(15432),
      METRICS_PORT: await findFreePort(19464),
    };
    const env = {
      ...process.env,
      DATA_DIR: dataDir,
      TEMPORAL_CLI: inject('temporalCli'),
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
      RESTAURANT_API_URL: '',
      API_RATE: '100',
      INGEST_SESSION_SECONDS: '3',
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    };
    const stack = spawn(process.execPath, [cli, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    stack.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stack.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => stack.once('exit', (code) => resolve(code)));

    try {
      await waitUntil('the stack says it is up', 150_000, async () => {
        if (stack.exitCode !== null) throw new Error(`up exited early (${stack.exitCode}):\n${output}`);
        return output.includes('the stack is up');
      });

      const status = await run(process.execPath, [cli, 'ingest', 'status', '--json'], { env });
      const [realtime] = JSON.parse(status.stdout) as Array<{ workflowId: string; mode: string }>;
      expect(realtime).toMatchObject({ workflowId: 'restaurant_realtime_stream', mode: 'realtime' });

      const stackState = JSON.parse((await run('cat', [path.join(dataDir, 'stack.json')])).stdout) as { databaseUrl: string };
      const db = new pg.Client({ connectionString: stackState.databaseUrl });
      await db.connect();
      try {
        await waitUntil('events land in the warehouse', 60_000, async () => {
          const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM raw_data.events_raw');
          return Number(rows[0]?.n) > 0;
        });
        // Maintenance runs as the worker's least-privileged ETL role: every task must succeed.
        await run(process.execPath, [cli, 'maintenance', 'run-now'], { env });
        await waitUntil('a maintenance run is recorded', 60_000, async () => {
          const { rows } = await db.query<{ task: string; status: string }>('SELECT task, status FROM analytics.maintenance_results');
          return rows.length === 5;
        });
        const { rows: maintenance } = await db.query<{ task: string; status: string }>('SELECT task, status FROM analytics.maintenance_results ORDER BY id');
        expect(maintenance.map((row) => row.task)).toEqual(['health_check', 'data_consistency', 'raw_retention', 'rollup_folding', 'analyze']);
      } finally {
        await db.end();
      }
      const scrape = async () => parsePrometheus(await (await fetch(`http://127.0.0.1:${ports.METRICS_PORT}/metrics`)).text());
      const first = await scrape();
      expect(total(first, 'restaurant_ingest_events_total', 'event_type="order_created"')).toBeGreaterThan(0);
      expect([...first.keys()].some((key) => key.startsWith('temporal_'))).toBe(true);
      await expect.poll(async () => total(await scrape(), 'restaurant_ingest_events_total'), { timeout: 30_000 }).toBeGreaterThan(total(first, 'restaurant_ingest_events_total'));
      expect(total(await scrape(), 'restaurant_ingest_checkpoint_offset')).toBeGreaterThan(0);

      for (const component of ['stack', 'postgres', 'migrate', 'temporal', 'api', 'worker']) {
        expect(output).toMatch(new RegExp(`^${component}\\s*\\|`, 'm'));
      }
    } finally {
      stack.kill('SIGINT');
    }

    expect(await exited).toBe(0);
    expect(output).toContain('nothing left running');
    for (const port of Object.values(ports)) expect(await isPortFree(port)).toBe(true);
  });

  it('a later start recovers from an `up` that was killed outright', async () => {
    const ports = {
      API_PORT: await findFreePort(18100),
      TEMPORAL_PORT: await findFreePort(17300),
      TEMPORAL_UI_PORT: await findFreePort(18300),
      EMBEDDED_POSTGRES_PORT: await findFreePort(15500),
      METRICS_PORT: await findFreePort(19500),
    };
    const env = { ...process.env, DATA_DIR: dataDir, TEMPORAL_CLI: inject('temporalCli'), DATABASE_URL: '', TEMPORAL_ADDRESS: '', RESTAURANT_API_URL: '', ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
    const start = () => {
      const child = spawn(process.execPath, [cli, 'up'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const up = waitUntil('the stack says it is up', 150_000, async () => {
        if (child.exitCode !== null) throw new Error(`up exited early (${child.exitCode}):\n${output}`);
        return output.includes('the stack is up');
      });
      return { child, exited, up };
    };

    const first = start();
    await first.up;
    first.child.kill('SIGKILL');
    await first.exited;
    // Our own components notice their supervisor is gone (their stdin closes) and stop.
    await waitUntil('the event API of the killed stack stops', 30_000, async () => isPortFree(ports.API_PORT));

    const second = start();
    try {
      await second.up;
    } finally {
      second.child.kill('SIGINT');
    }
    expect(await second.exited).toBe(0);
    for (const port of Object.values(ports)) expect(await isPortFree(port)).toBe(true);
  });
});

