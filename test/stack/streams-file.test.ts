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
      { name: 'brand_a', sourceUrl: 'http://pos-a.internal:8000', mode: 'realtime', tokenEnv: 'BRAND_A_API_TOKEN', tuning: { maxBatchEvents: 1500, maxBatchWaitMs: 25, sessionSeconds: 60, pollIntervalSeconds: 120, pageSize: 5000 } },
      { name: 'region-north', sourceUrl: 'https://north.example.com/feed', mode: 'polling', tokenEnv: undefined, tuning: { maxBatchEvents: 500, maxBatchWaitMs: 25, sessionSeconds: 60, pollIntervalSeconds: 30, pageSize: 5000 } },
    ]);
  });

  it("expands a range in a stream's name (and the same range in its source and tokenEnv) to one stream per number", () => {
    const streams = loadStreamsFile(
      file(
        'ranges.yaml',
        `streams:
  - name: feed-{001..200}
    source: http://127.0.0.1:8100/feeds/feed-{001..200}
    tokenEnv: FEED_{001..200}_TOKEN
    tuning: { maxBatchEvents: 100 }
  - name: shop-{8..11}
    source: http://shops.internal/{8..11}
  - name: brand_a
    source: http://pos-a.internal:8000
`,
      ),
      config,
    );
    expect(streams).toHaveLength(205);
    expect(streams[6]).toMatchObject({ name: 'feed-007', sourceUrl: 'http://127.0.0.1:8100/feeds/feed-007', tokenEnv: 'FEED_007_TOKEN', tuning: { maxBatchEvents: 100 } });
    expect(streams[199]).toMatchObject({ name: 'feed-200', sourceUrl: 'http://127.0.0.1:8100/feeds/feed-200' });
    expect(streams.slice(200).map((stream) => [stream.name, stream.sourceUrl])).toEqual([
      ['shop-8', 'http://shops.internal/8'],
      ['shop-9', 'http://shops.internal/9'],
      ['shop-10', 'http://shops.internal/10'],
      ['shop-11', 'http://shops.internal/11'],
      ['brand_a', 'http://pos-a.internal:8000'],
    ]);
  });

  it('reads the committed example of 200 feeds', () => {
    const streams = loadStreamsFile(path.join(projectRoot, 'streams.feeds.example.yaml'), config);
    expect(streams.map((stream) => stream.name)).toEqual(Array.from({ length: 200 }, (_, i) => `feed-${String(i + 1).padStart(3, '0')}`));
    expect(streams[41]!.sourceUrl).toBe('http://127.0.0.1:8100/feeds/feed-042');
  });

  it.each([
    ['a range running backwards', 'range-1.yaml', 'streams:\n  - { name: "f-{200..001}", source: "http://h/{200..001}" }\n', /stream f-\{200\.\.001\}: name: the range runs backwards: FIRST must not be above LAST \(got "\{200\.\.001\}"\)$/],
    ['a range that is not one', 'range-2.yaml', 'streams:\n  - { name: "f-{1..x}", source: "http://h:8000" }\n', /stream f-\{1\.\.x\}: name: a range is written \{FIRST\.\.LAST\}, e\.g\. \{001\.\.200\} \(got "\{1\.\.x\}"\)$/],
    ['a range of too many streams', 'range-3.yaml', 'streams:\n  - { name: "f-{1..5000}", source: "http://h/{1..5000}" }\n', /name: a range makes at most 1000 streams/],
    ['a range in the source only', 'range-4.yaml', 'streams:\n  - { name: f, source: "http://h/feeds/feed-{001..200}" }\n', /stream f: source: a range here needs the same range in name/],
    ['two different ranges', 'range-5.yaml', 'streams:\n  - { name: "f-{001..200}", source: "http://h/{001..100}" }\n', /source: every range of one stream must be the same; found \{001\.\.200\} and \{001\.\.100\}/],
    ['a range colliding with another stream', 'range-6.yaml', 'streams:\n  - { name: f-002, source: "http://h/x" }\n  - { name: "f-{001..003}", source: "http://h/{001..003}" }\n', /stream f-002: name: used by another stream of the file$/],
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
