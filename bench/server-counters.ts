import type pg from 'pg';

/** Cumulative PostgreSQL counters that say what a write path costs the server. */
interface Counters {
  readonly walBytes: number;
  readonly fullPageImages: number;
  readonly blocksRead: number;
}

export interface ServerCost {
  /** WAL written per committed event, in bytes. */
  readonly walBytesPerEvent: number;
  /** Full-page images per event: the first change of a page after a checkpoint logs the whole 8 kB page. */
  readonly fullPageImagesPerEvent: number;
  /** Blocks this database read from outside shared_buffers (the OS cache or disk) per event. */
  readonly blocksReadPerEvent: number;
}

async function read(pool: pg.Pool): Promise<Counters> {
  const { rows } = await pool.query<{ wal_bytes: string; wal_fpi: string; blks_read: string }>(
    `SELECT w.wal_bytes, w.wal_fpi, d.blks_read FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`,
  );
  const row = rows[0];
  return { walBytes: Number(row?.wal_bytes ?? 0), fullPageImages: Number(row?.wal_fpi ?? 0), blocksRead: Number(row?.blks_read ?? 0) };
}

/** Starts counting; `stop(events)` gives the server's cost per event since. The WAL counters are cluster-wide. */
export async function startServerCost(pool: pg.Pool): Promise<{ stop(events: number): Promise<ServerCost> }> {
  const before = await read(pool);
  return {
    async stop(events) {
      const after = await read(pool);
      const per = (value: number, digits: number) => Number((value / Math.max(events, 1)).toFixed(digits));
      return {
        walBytesPerEvent: per(after.walBytes - before.walBytes, 0),
        fullPageImagesPerEvent: per(after.fullPageImages - before.fullPageImages, 3),
        blocksReadPerEvent: per(after.blocksRead - before.blocksRead, 3),
      };
    },
  };
}
