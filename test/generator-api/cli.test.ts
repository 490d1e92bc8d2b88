import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../config/env.js';
import { waitUntil } from '../../stack/wait.js';
import { getJson } from './sse-client.js';

const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');

interface Launched {
  readonly exited: Promise<number | string>;
  readonly output: () => string;
  readonly stderr: () => string;
  readonly kill: (signal: NodeJS.Signals) => void;
  /** The URL from the "listening" log line. */
  url(): Promise<string>;
}

function launch(args: string[], dataDir: string): Launched {
  const child = spawn(process.execPath, [cli, 'api', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'info', API_SEED: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return {
    exited,
    output: () => stdout,
    stderr: () => stderr,
    kill: (signal) => child.kill(signal),
    async url() {
      let url: string | undefined;
      await waitUntil('the API logs that it listens', 30_000, async () => {
        if (child.exitCode !== null) throw new Error(`api exited early (${child.exitCode}): ${stderr}`);
        url = /"url":"([^"]+)"/.exec(stdout)?.[1];
        return url !== undefined;
      });
      return url!;
    },
  };
}

describe('restaurant-stack api', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'generator-api-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a bad flag with one line naming it and exit code 2', async () => {
    const cases: Array<[string[], string]> = [
      [['--rate', 'fast'], '--rate'],
      [['--port', '70000'], '--port'],
      [['--malformed-rate', '1.5'], '--malformed-rate'],
      [['--no-such-flag'], '--no-such-flag'],
      [['--feeds', '0'], '--feeds'],
      [['--feeds', '-2'], '--feeds'],
      [['--feeds', '1.5'], '--feeds'],
      [['--feeds', '1000000'], '--feeds'],
    ];
    const outcomes = await Promise.all(
      cases.map(async ([args]) => {
        const api = launch(args, dataDir);
        return { code: await api.exited, lines: api.stderr().trim().split('\n') };
      }),
    );
    outcomes.forEach(({ code, lines }, i) => {
      expect(code).toBe(2);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(cases[i]![1]);
    });
  });

  it('serves, then on SIGTERM ends its streams, saves its head and exits 0; a restart continues after it', async () => {
    const first = launch(['--port', '0', '--seed', 'cli', '--rate', '2000'], dataDir);
    const url = await first.url();
    await waitUntil('some events', 10_000, async () => (await getJson<{ head_offset: number }>(`${url}/health`)).body.head_offset >= 200);
    const stream = await fetch(`${url}/stream`);
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    await stream.text(); // the stream was ended, not left hanging
    const state = JSON.parse(readFileSync(path.join(dataDir, 'generator-api', 'state.json'), 'utf8')) as { head: number; reservedThrough: number };
    expect(state.reservedThrough).toBe(state.head);

    const second = launch(['--port', '0', '--seed', 'cli', '--rate', '2000'], dataDir);
    const health = await getJson<{ earliest_offset: number }>(`${await second.url()}/health`);
    expect(health.body.earliest_offset).toBe(state.head + 1);
    second.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('never goes backwards after being killed outright', async () => {
    const folder = mkdtempSync(path.join(dataDir, 'crash-'));
    const crashed = launch(['--port', '0', '--rate', '3000'], folder);
    const url = await crashed.url();
    await waitUntil('some events', 10_000, async () => (await getJson<{ head_offset: number }>(`${url}/health`)).body.head_offset >= 300);
    const seen = (await getJson<{ events: Array<{ offset: number }> }>(`${url}/events?since=0&limit=5000`)).body.events.at(-1)!.offset;
    crashed.kill('SIGKILL');
    await crashed.exited;
    expect(existsSync(path.join(folder, 'generator-api', 'state.json'))).toBe(true);

    const restarted = launch(['--port', '0', '--rate', '3000'], folder);
    const restartedUrl = await restarted.url();
    await waitUntil('new events', 10_000, async () => (await getJson<{ stored: number }>(`${restartedUrl}/health`)).body.stored > 0);
    const [firstNew] = (await getJson<{ events: Array<{ offset: number }> }>(`${restartedUrl}/events?since=0&limit=1`)).body.events;
    expect(firstNew!.offset).toBeGreaterThan(seen);
    restarted.kill('SIGTERM');
    expect(await restarted.exited).toBe(0);
  });

  it('serves --feeds N at /feeds/feed-001 …, each feed saving its own head on SIGTERM', async () => {
    const folder = mkdtempSync(path.join(dataDir, 'feeds-'));
    const api = launch(['--port', '0', '--seed', 'cli', '--rate', '200', '--feeds', '3'], folder);
    const url = await api.url();
    expect((await getJson<{ feeds: number }>(`${url}/health`)).body.feeds).toBe(3);
    await waitUntil('events on feed-003', 10_000, async () => (await getJson<{ head_offset: number }>(`${url}/feeds/feed-003/health`)).body.head_offset >= 20);
    api.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    for (const feed of ['feed-001', 'feed-002', 'feed-003']) {
      const state = JSON.parse(readFileSync(path.join(folder, 'feeds', feed, 'generator-api', 'state.json'), 'utf8')) as { seed: string; head: number };
      expect(state.seed).toBe(`cli/${feed}`);
      expect(state.head).toBeGreaterThan(0);
    }
  });
});
