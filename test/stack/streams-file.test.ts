import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, projectRoot } from '../../config/env.js';
import { loadStreamsFile } from '../../config/streams.js';

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');

/** The streams file: one feed per entry, validated, every problem on one line naming the stream and field. */
describe('streams file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'streams-file-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({ INGEST_MAX_BATCH_EVENTS: '1500' });
  const file = (name: string, text: string) => {
    const where = path.join(dir, name);
    writeFileSync(where, text);
    return where;
  };

  it('reads streams with defaults from the environment and per-stream tuning overrides', () => {
    const streams = loadStreamsFile(
      file(
        'good.yaml',
        `streams:
  - name: brand_a
    source: http://pos-a.internal:8000
    tokenEnv: BRAND_A_API_TOKEN
  - name: region-north
    source: https://north.example.com/feed
    mode: polling
    tuning: { pollIntervalSeconds: 30, maxBatchEvents: 500 }
`,
      ),
      config,
    );
    expect(streams).toEqual([
      { name: 'brand_a', sourceUrl: 'http://pos-a.internal:8000', mode: 'realtime', tokenEnv: 'BRAND_A_API_TOKEN', tuning: { maxBatchEvents: 1500, maxBatchWaitMs: 25, sessionSeconds: 10, pollIntervalSeconds: 120, pageSize: 5000 } },
      { name: 'region-north', sourceUrl: 'https://north.example.com/feed', mode: 'polling', tokenEnv: undefined, tuning: { maxBatchEvents: 500, maxBatchWaitMs: 25, sessionSeconds: 10, pollIntervalSeconds: 30, pageSize: 5000 } },
    ]);
  });

  it.each([
    ['a bad source', 'bad-1.yaml', 'streams:\n  - name: brand_b\n    source: oops\n', /^.*bad-1\.yaml: stream brand_b: source: an http\(s\) URL .* \(got "oops"\)$/],
    ['a mode it does not know', 'bad-2.yaml', 'streams:\n  - { name: brand_b, source: "http://b:8000", mode: kafka }\n', /stream brand_b: mode: Invalid option: expected one of "realtime"\|"polling" \(got "kafka"\)$/],
    ['a token instead of its variable name', 'bad-3.yaml', 'streams:\n  - { name: brand_b, source: "http://b:8000", tokenEnv: "s3cr3t-token" }\n', /stream brand_b: tokenEnv: the NAME of an environment variable/],
    ['an unknown tuning key', 'bad-4.yaml', 'streams:\n  - { name: brand_b, source: "http://b:8000", tuning: { batch: 5 } }\n', /stream brand_b: tuning: Unrecognized key: "batch"/],
    ['a stream without a name', 'bad-5.yaml', 'streams:\n  - { source: "http://b:8000" }\n', /stream #1: name: /],
    ['the same name twice', 'bad-6.yaml', 'streams:\n  - { name: a, source: "http://a:8000" }\n  - { name: a, source: "http://b:8000" }\n', /stream a: name: used by another stream of the file$/],
    ['no streams', 'bad-7.yaml', 'streams: []\n', /streams: lists no stream/],
    ['not YAML', 'bad-8.yaml', 'streams: [\n', /bad-8\.yaml: /],
  ])('rejects %s on one line', (_what, name, text, expected) => {
    const where = file(name, text);
    expect(() => loadStreamsFile(where, config)).toThrowError(expected);
    try {
      loadStreamsFile(where, config);
    } catch (error) {
      expect((error as Error).name).toBe('ConfigError');
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('`up` with a bad streams file stops before starting anything, with exit code 2', async () => {
    const where = file('up-bad.yaml', 'streams:\n  - name: Brand A\n    source: http://a:8000\n');
    const failure = await run(process.execPath, [cli, 'up'], { env: { ...process.env, STREAMS_FILE: where, DATA_DIR: dir } }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 2 });
    expect((failure as { stderr: string }).stderr.trim()).toMatch(/^restaurant-stack: .*up-bad\.yaml: stream Brand A: name: lower-case letters/);
  });
});
