import type pg from 'pg';

const SAMPLE_EVERY_MS = 200;

export interface ActivityShare {
  /** Who (the backend type, when not a client), what (the statement's start) and on what it waited ("CPU" when on none). */
  readonly what: string;
  /** Share of the samples in which a backend was doing this (shares add up to the average number of busy backends). */
  readonly percent: number;
}

/**
 * What PostgreSQL's busy backends were doing, sampled from pg_stat_activity every 200 ms: a wait-event
 * profile that shows, without any extension, which statement or which autovacuum took the time.
 * The benchmark's own sessions are left out.
 */
export function sampleServerActivity(pool: pg.Pool): { stop(): Promise<ActivityShare[]> } {
  const counts = new Map<string, number>();
  let samples = 0;
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const { rows } = await pool.query<{ what: string }>(
        `SELECT CASE WHEN backend_type = 'client backend' THEN '' ELSE backend_type || ': ' END
                || left(regexp_replace(query, '\\s+', ' ', 'g'), 70)
                || ' [' || coalesce(wait_event_type || ':' || wait_event, 'CPU') || ']' AS what
         FROM pg_stat_activity
         WHERE state = 'active' AND pid <> pg_backend_pid() AND application_name <> 'restaurant-bench'`,
      );
      samples += 1;
      for (const { what } of rows) counts.set(what, (counts.get(what) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  })();
  return {
    async stop() {
      sampling = false;
      await loop;
      return [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 10)
        .map(([what, count]) => ({ what, percent: Number(((count / Math.max(samples, 1)) * 100).toFixed(1)) }));
    },
  };
}
