import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runBenchmarks } from '../../bench/run.js';

const LATEST_KEYS = [
  'api_rss_mb_peak',
  'copy_floor_eps',
  'dashboards',
  'ingest_throughput_eps',
  'ingest_vs_floor',
  'latency_ms',
  'naive_baseline_eps',
  'recovery',
  'scaling',
  'streams',
  'worker_rss_mb_peak',
];

describe('bench', () => {
  const resultsDir = mkdtempSync(path.join(os.tmpdir(), 'bench-results-'));
  afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

  // Shape only: a shared, noisy machine must not make this test fail on speed.
  it('a quick run of throughput, the COPY floor and the naive baseline writes latest.json with exactly the agreed keys', async () => {
    const run = await runBenchmarks({
      only: ['throughput', 'copy-floor', 'naive'],
      quick: true,
      seconds: 5,
      skipScaling: false,
      profile: false,
      serverUrl: inject('postgresAdminUrl'),
      temporalAddress: inject('temporalAddress'),
      resultsDir,
      log: () => undefined,
    });
    expect(run.failed).toEqual([]);

    const latest = JSON.parse(readFileSync(path.join(resultsDir, 'latest.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(latest).sort()).toEqual(LATEST_KEYS);
    for (const key of ['ingest_throughput_eps', 'copy_floor_eps', 'ingest_vs_floor', 'naive_baseline_eps', 'worker_rss_mb_peak', 'api_rss_mb_peak']) {
      expect(latest[key], key).toBeGreaterThan(0);
    }
    for (const key of ['latency_ms', 'recovery', 'scaling', 'streams', 'dashboards']) expect(latest[key], key).toBeNull();

    const meta = JSON.parse(readFileSync(path.join(resultsDir, 'latest.meta.json'), 'utf8')) as { measurements: string[]; phases: Record<string, { loadBefore: number[] }> };
    expect(meta.measurements).toEqual(['throughput', 'copy-floor', 'naive']);
    expect(meta.phases.throughput?.loadBefore).toHaveLength(3);
    expect(run.table).toMatch(/ingest throughput[\s\S]*COPY floor[\s\S]*naive baseline/);
  }, 90_000);
});
