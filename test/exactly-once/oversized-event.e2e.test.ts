import { type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES, type IngestMode } from '../../contracts/ingestion.js';
import { spawnWorkerProcess } from '../support/worker-process.js';
import { FAST_TUNING, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';
import { startGiantEventSource, type GiantEventSource } from './giant-event-source.js';

const GIANT_BYTES = 300 * 1024 * 1024;
const COUNT = 3_000;
const GIANT_AT = 1_500;
/** The worker's heap bound: far below the giant event, so holding it once would crash the process. */
const HEAP_MB = 128;

/** Peak resident memory of a process (Linux). */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

describe('one oversized event: rejected with its size, the stream moves past it, the worker lives', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let source: GiantEventSource;
  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('oversized');
    testWorker = await startTestWorker(warehouse.pool, { label: 'oversized-client' });
    source = await startGiantEventSource({ count: COUNT, giantAt: GIANT_AT, giantBytes: GIANT_BYTES });
  });
  beforeEach(async () => {
    // Both cases ingest the same events, and an event_id is stored once whatever the stream.
    await warehouse.pool.query('TRUNCATE raw_data.events_raw, raw_data.events_rejected, raw_data.stream_checkpoints, staging.pending_children, analytics.orders CASCADE');
  });
  afterAll(async () => {
    await source?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  function spawnWorker(taskQueue: string): ChildProcess {
    return spawnWorkerProcess({
      databaseUrl: warehouse.url,
      taskQueue,
      nodeFlags: [`--max-old-space-size=${HEAP_MB}`],
      env: { INGEST_MAX_PAGE_BYTES: String(4 * 1024 * 1024) },
    });
  }

  async function ingestPastTheGiant(mode: IngestMode): Promise<void> {
    const taskQueue = `oversized-${mode}-${Date.now()}`;
    const worker = spawnWorker(taskQueue);
    let exit: string | undefined;
    worker.once('exit', (code, signal) => (exit = `exited with ${code ?? signal}`));
    try {
      const handle = await testWorker.client.workflow.start(WORKFLOW_TYPES[mode], { workflowId: taskQueue, taskQueue, args: [{ sourceUrl: source.url, tuning: FAST_TUNING }] });
      await waitForCheckpoint(warehouse.pool, taskQueue, COUNT, 180_000);
      expect(exit).toBeUndefined();
      // A worker peaks near 250 MB on its own (bench/README.md); holding the event once would add 300 MB,
      // and its 128 MB heap would not even hold it as a string: the process would have died.
      const peak = peakRssMb(worker.pid!);
      console.log(`${mode}: worker peak RSS ${peak} MB past a ${GIANT_BYTES / 1024 / 1024} MB event`);
      expect(peak).toBeLessThan(450);

      const { rows: raw } = await warehouse.pool.query<{ event_id: string }>('SELECT event_id FROM raw_data.events_raw WHERE stream_name = $1', [taskQueue]);
      expect(new Set(raw.map((row) => row.event_id))).toEqual(source.eventIds);
      const { rows: rejected } = await warehouse.pool.query<{ event_offset: string; event_bytes: string; raw: string; reason: string }>(
        'SELECT event_offset, event_bytes, raw, reason FROM raw_data.events_rejected WHERE stream_name = $1',
        [taskQueue],
      );
      expect(rejected).toHaveLength(1);
      expect(Number(rejected[0]!.event_offset)).toBe(GIANT_AT);
      expect(Number(rejected[0]!.event_bytes)).toBeGreaterThanOrEqual(GIANT_BYTES);
      expect(rejected[0]!.raw.length).toBeLessThanOrEqual(1_024);
      expect(rejected[0]!.raw).toContain(`"offset":${GIANT_AT}`);
      expect(rejected[0]!.reason).toMatch(/oversized event: \d+ bytes/);
      await handle.cancel();
    } finally {
      worker.kill('SIGKILL');
    }
  }

  it('on the SSE stream (the worker runs with a 128 MB heap)', () => ingestPastTheGiant('realtime'), 240_000);
  it('in an /events page (polling)', () => ingestPastTheGiant('polling'), 240_000);
});
