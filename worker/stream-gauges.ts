import type { MetricMeter } from '@temporalio/common';
import type pg from 'pg';
import type { Logger } from '../telemetry/logger.js';
import { repeatUntilAborted } from './repeat.js';

/** How often every worker reads each stream's reading times from the warehouse for its gauges. */
const REFRESH_MS = 5_000;

/**
 * Exports every stream's reading, as the warehouse records it (analytics.stream_reading), as gauges:
 * when it was last read and committed, and since when it has waited for a worker (0 while a session
 * reads it). They come from the warehouse, not from this worker's sessions, so a stream no session
 * runs — the one to alert on — is exported by every worker alike, whichever last ran it. Runs until
 * `signal` aborts.
 */
export async function exportStreamGauges(options: { db: pg.Pool; meter: MetricMeter; logger: Logger; signal: AbortSignal }): Promise<void> {
  const { db, meter, logger, signal } = options;
  const lastRead = meter.createGauge('restaurant_ingest_last_read_timestamp_seconds', 'float', 's', 'When a session last read the stream from its source (Unix time)');
  const lastCommit = meter.createGauge('restaurant_ingest_last_commit_timestamp_seconds', 'float', 's', 'When a batch of the stream last committed (Unix time)');
  const waitingSince = meter.createGauge(
    'restaurant_ingest_waiting_since_timestamp_seconds',
    'float',
    's',
    'Since when no session has read the realtime stream (Unix time): it waits for a worker, or is paused or stopped; 0 while one reads it',
  );
  const unix = (time: Date | null) => (time ? time.getTime() / 1000 : 0);
  await repeatUntilAborted({ what: 'reading the streams for their gauges', intervalMs: REFRESH_MS, logger, signal }, async () => {
    const { rows } = await db.query<{ stream_name: string; last_read_at: Date | null; last_committed_at: Date | null; waiting_since: Date | null }>(
      'SELECT stream_name, last_read_at, last_committed_at, waiting_since FROM analytics.stream_reading',
    );
    for (const row of rows) {
      const tags = { stream: row.stream_name };
      if (row.last_read_at) lastRead.set(unix(row.last_read_at), tags);
      if (row.last_committed_at) lastCommit.set(unix(row.last_committed_at), tags);
      waitingSince.set(unix(row.waiting_since), tags);
    }
  });
}
