import { afterAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { parsePrometheus } from '../support/prometheus.js';

describe('event API /metrics', () => {
  let api: EventApi | undefined;
  afterAll(async () => api?.close());

  it('serves Prometheus text whose figures follow production', async () => {
    api = await startEventApi({ port: 0, seed: 'metrics', rate: 'max', maxEvents: 500 });
    await api.waitForHead(500);
    const response = await fetch(`${api.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parsePrometheus(await response.text());
    expect(samples.get('restaurant_api_head_offset')).toBe(500);
    expect(samples.get('restaurant_api_events_produced_total')).toBe(500);
    expect(samples.get('restaurant_api_connected_clients')).toBe(0);
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});
