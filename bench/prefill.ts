import { generateEvents } from '../generator-api/index.js';
import type { BenchWarehouse } from './environment.js';
import { parseEnvelopes } from './warehouse-rows.js';

/** Distinct real payloads the pre-fill repeats: enough variety for sizes and types, cheap to join. */
const TEMPLATES = 1_000;
const ROWS_PER_STATEMENT = 1_000_000;
const PREFILL_STREAM = 'bench_prefill';

/**
 * Tops raw_data.events_raw up to `rows` without going through the pipeline: generate_series rows
 * shaped like real ones — the event types, partition keys and payloads (~420 bytes of JSON) of the
 * generator's first 1,000 events, each row with a fresh random event_id (the primary key, as random as
 * real uuids), offsets of a stream of its own, and ts/ingested_at marching forward 250 ms a row from
 * 2026-01-01 so the BRIN on ingested_at sees data in time order. Returns the rows added.
 */
export async function prefillEventsRaw(warehouse: BenchWarehouse, rows: number, log: (line: string) => void): Promise<number> {
  const client = await warehouse.connect();
  try {
    const { rows: counted } = await client.query<{ n: string; last: string | null }>(
      `SELECT count(*) AS n, (SELECT max(event_offset) FROM raw_data.events_raw WHERE stream_name = $1) AS last FROM raw_data.events_raw`,
      [PREFILL_STREAM],
    );
    const present = Number(counted[0]?.n ?? 0);
    let next = Number(counted[0]?.last ?? 0) + 1;
    if (present >= rows) return 0;
    const templates = parseEnvelopes(generateEvents({ seed: 'bench-prefill', rate: 'max' }, TEMPLATES));
    await client.query('CREATE TEMPORARY TABLE prefill_templates (n int PRIMARY KEY, event_type text, partition_key text, payload jsonb)');
    await client.query(
      `INSERT INTO prefill_templates SELECT n - 1, t, pk, p::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(t, pk, p, n)`,
      [templates.map((e) => e.event_type), templates.map((e) => e.partition_key), templates.map((e) => JSON.stringify(e.payload))],
    );
    let added = 0;
    while (present + added < rows) {
      const count = Math.min(ROWS_PER_STATEMENT, rows - present - added);
      const startedAt = performance.now();
      await client.query(
        `INSERT INTO raw_data.events_raw (event_offset, event_id, event_type, ts, partition_key, payload, ingested_at, ingested_by, stream_name, source_epoch)
         SELECT g, gen_random_uuid(), t.event_type, at, t.partition_key, t.payload, at, 'bench-prefill', $3, '1'
         FROM generate_series($1::bigint, $2::bigint) AS g
         JOIN prefill_templates AS t ON t.n = g % ${TEMPLATES}
         CROSS JOIN LATERAL (SELECT timestamptz '2026-01-01 00:00:00+00' + g * interval '250 milliseconds') AS x(at)`,
        [next, next + count - 1, PREFILL_STREAM],
      );
      next += count;
      added += count;
      log(`pre-fill: ${(present + added).toLocaleString('en')} of ${rows.toLocaleString('en')} rows (${Math.round(count / ((performance.now() - startedAt) / 1000)).toLocaleString('en')} rows/s)`);
    }
    return added;
  } finally {
    await client.end();
  }
}
