import { afterEach } from 'vitest';
import { startEventApi, type EventApi, type EventApiOptions } from '../../generator-api/index.js';
import { SseReader } from './sse-client.js';

export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Event APIs (on a free port, with `defaults`) and SSE readers for the tests of a file, all closed after each test. */
export function eventApiHarness(defaults: EventApiOptions) {
  const apis: EventApi[] = [];
  const readers: SseReader[] = [];
  afterEach(async () => {
    for (const reader of readers.splice(0)) reader.close();
    await Promise.all(apis.splice(0).map((api) => api.close()));
  });
  return {
    async start(options: EventApiOptions): Promise<EventApi> {
      const api = await startEventApi({ port: 0, ...defaults, ...options });
      apis.push(api);
      return api;
    },
    async open(url: string, headers?: Record<string, string>): Promise<SseReader> {
      const reader = await SseReader.open(url, headers);
      readers.push(reader);
      return reader;
    },
  };
}
