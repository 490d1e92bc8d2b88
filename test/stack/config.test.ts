import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, projectRoot } from '../../config/env.js';

const run = promisify(execFile);
const cli = path.join(projectRoot, 'bin', 'restaurant-stack.js');

describe('configuration', () => {
  it('has embedded defaults for everything', () => {
    const config = loadConfig({});
    expect([config.DATABASE_URL, config.TEMPORAL_ADDRESS, config.RESTAURANT_API_URL]).toEqual([undefined, undefined, undefined]);
    expect(config).toMatchObject({
      API_PORT: 8000,
      TEMPORAL_PORT: 7233,
      TEMPORAL_UI_PORT: 8233,
      TEMPORAL_NAMESPACE: 'default',
      WAREHOUSE_DATABASE: 'restaurant_analytics',
      REALTIME_WORKFLOW_ID: 'restaurant_realtime_stream',
      POLLING_WORKFLOW_ID: 'restaurant_stream_ingest_polling',
    });
    expect(config.DATA_DIR).toBe(path.join(projectRoot, '.data'));
  });

  it('treats an empty variable as unset, and external components replace embedded ones', () => {
    const config = loadConfig({ DATABASE_URL: '', TEMPORAL_ADDRESS: 'temporal.internal:7233', RESTAURANT_API_URL: 'http://source.example:8000' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.TEMPORAL_ADDRESS).toBe('temporal.internal:7233');
    expect(config.RESTAURANT_API_URL).toBe('http://source.example:8000');
  });

  it.each([
    ['API_PORT', 'eighty', /API_PORT: .*\(got "eighty"\)/],
    ['API_PORT', '70000', /API_PORT: .*65535/],
    ['DATABASE_URL', 'not a url', /DATABASE_URL: Invalid URL/],
    ['TEMPORAL_ADDRESS', 'http://localhost:7233', /TEMPORAL_ADDRESS: host:port/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: .*"debug"/],
    ['WAREHOUSE_DATABASE', 'Restaurant-DB', /WAREHOUSE_DATABASE: a lower-case SQL identifier/],
    ['INGEST_MODE', 'batch', /INGEST_MODE/],
  ])('rejects %s=%s naming the variable and what is expected', (variable, value, message) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });

  it('a command given bad configuration prints one line and exits with code 2', async () => {
    const failure = await run(process.execPath, [cli, 'migrate'], { env: { ...process.env, API_PORT: 'eighty' } }).catch((error: { code: number; stderr: string }) => error);
    expect(failure).toMatchObject({ code: 2 });
    const lines = (failure as { stderr: string }).stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(/^restaurant-stack: invalid configuration: API_PORT: .*\(got "eighty"\)$/)]);
  });

  it('every command has --help', async () => {
    for (const command of [[], ['up'], ['api'], ['worker'], ['migrate'], ['ingest'], ['ingest', 'status'], ['maintenance'], ['metabase']]) {
      const { stdout } = await run(process.execPath, [cli, ...command, '--help']);
      expect(stdout).toMatch(/^Usage: restaurant-stack/);
    }
  });
});
