/**
 * Dashboards over years of history: a warehouse of `orders` paid orders spread over `years` years at
 * 12 locations in Ontario, Newfoundland, British Columbia and India (their zones and two 04:00 cut-offs
 * set as `locations set` does), with their items from a 200-item menu, payments and feedback, filled
 * with set-based SQL; the rollups built from it by `rollups rebuild`; every view checked against the
 * facts in six session zones; and every Metabase card's SQL timed as analytics_reader (the median of
 * several runs each). Beside it, the ingestion throughput with and without the rollup triggers, same
 * machine, same run.
 */
import type pg from 'pg';
import { Batch } from '../activities/warehouse/batch.js';
import { decodeText } from '../activities/ingestion/decode.js';
import { loadProcessors } from '../processors/registry.js';
import { onConnection } from '../activities/warehouse/connection-lender.js';
import { BatchWriter } from '../activities/warehouse/batch-writer.js';
import { takeOwnership } from '../activities/warehouse/ownership.js';
import { generateEvents } from '../generator-api/index.js';
import { cardsOf, RESTAURANT_DASHBOARDS } from '../metabase/dashboards.js';
import { compareViewsWithFacts, type ViewMismatch } from '../test/support/view-equivalence.js';
import { warehouseDbOver } from '../warehouse/connect.js';
import { setLocation, type LocationChange } from '../warehouse/locations.js';
import { ANALYTICS_READER_ROLE } from '../warehouse/roles.js';
import { rebuildRollups } from '../warehouse/rollups.js';
import type { BenchEnvironment, BenchWarehouse } from './environment.js';
import { Pipeline } from './pipeline.js';
import { pressureStallMicros } from './proc-stats.js';
import { sustainedRate } from './sustained-rate.js';
import { THROUGHPUT_SEED } from './throughput.js';

export interface DashboardsOptions {
  readonly orders: number;
  /** How many years of history the orders spread over. */
  readonly years: number;
  /** Timed runs per card (after one warm-up run); the median counts. */
  readonly runs: number;
  /** Throughput windows with and without rollups; 0 skips that comparison. */
  readonly ingestSeconds: number;
  readonly warmUpSeconds: number;
  readonly log: (line: string) => void;
}

export interface DashboardsResult {
  readonly orders: number;
  readonly history_years: number;
  readonly locations: number;
  readonly slowest_card_ms: number;
  readonly all_cards_ms: number;
  readonly cards: Record<string, number>;
  /** Where the time went before the cards ran: the fill, and `rollups rebuild` over it. */
  readonly fill_seconds: number;
  readonly rebuild_seconds: number;
  readonly rollup_rows: Record<string, number>;
  /** Every view equals the same aggregate over the facts in each session zone, and no rollup key differs from the facts. */
  readonly views_equal_facts: boolean;
  readonly view_checks: { readonly zones: string[]; readonly views: string[]; readonly seconds: number; readonly mismatches: ViewMismatch[]; readonly rollup_discrepancies: number };
  readonly cpu_pressure_percent_during_cards?: number;
  readonly ingest_eps_with_rollups?: number;
  readonly ingest_eps_without_rollups?: number;
  readonly ingest_with_vs_without?: number;
  /** The batch writer alone, same batches on one connection: seconds without and with the rollup triggers. */
  readonly writer_seconds_without_rollups?: number;
  readonly writer_seconds_with_rollups?: number;
  readonly writer_with_vs_without?: number;
}

/** Events the writer-alone comparison writes, in batches of the worker's default size. */
const WRITER_EVENTS = 60_000;
const WRITER_BATCH = 2_000;

/** Four provinces' zones and India's (set, since its code names no province), two with a 04:00 cut-off. */
const LOCATIONS: readonly LocationChange[] = [
  { code: 'LOC-ON-001' },
  { code: 'LOC-ON-002', businessDayStart: '04:00' },
  { code: 'LOC-ON-003' },
  { code: 'LOC-ON-004' },
  { code: 'LOC-NL-001' },
  { code: 'LOC-NL-002' },
  { code: 'LOC-BC-001', businessDayStart: '04:00' },
  { code: 'LOC-BC-002' },
  { code: 'LOC-BC-003' },
  { code: 'LOC-IN-001', timeZone: 'Asia/Kolkata' },
  { code: 'LOC-IN-002', timeZone: 'Asia/Kolkata' },
  { code: 'LOC-IN-003', timeZone: 'Asia/Kolkata' },
];
const MENU_ITEMS = 200;
/** Rows per INSERT … SELECT: two run at a time, one per core. */
const FILL_CHUNK = 1_000_000;
const ROLLUP_TRIGGERS = [
  ['orders', ['rollup_orders_insert', 'rollup_orders_update', 'rollup_orders_delete', 'rollup_orders_deleting']],
  ['order_items', ['rollup_order_items_insert', 'rollup_order_items_update', 'rollup_order_items_delete']],
  ['feedback', ['rollup_feedback_insert', 'rollup_feedback_update', 'rollup_feedback_delete']],
] as const;

const round = (value: number, digits = 1) => Number(value.toFixed(digits));
const median = (values: number[]) => {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/*
 * Order i of n is placed at an even step through the last `days` days (so the table is in time order,
 * as ingestion leaves it); its id, and its children's, are derived from i so the children find it
 * without reading it. One or two lines from a 200-item menu; a payment each; feedback for three orders
 * in ten.
 */
const fillStatements = (from: number, to: number, orders: number, days: number) => {
  const orderId = (i: string) => `md5('order' || ${i})::uuid`;
  const orderTs = (i: string) => `(now() - interval '${days} days' + (${i}::double precision / ${orders}) * interval '${days} days')`;
  const locations = `ARRAY[${LOCATIONS.map(({ code }) => `'${code}'`).join(', ')}]`;
  const money = `
    CROSS JOIN LATERAL (SELECT round((8 + (i * 7919 % 6000) / 100.0)::numeric, 2) AS subtotal) s
    CROSS JOIN LATERAL (SELECT round(s.subtotal * 0.08, 2) AS tax, round(s.subtotal * ((i % 5) * 0.05), 2) AS tip) t`;
  return [
    `INSERT INTO analytics.orders (order_id, visit_id, service_type, order_ts, location_code, subtotal, tax, tip, total)
     SELECT ${orderId('i')}, NULL, (ARRAY['dine_in', 'takeout', 'delivery'])[1 + i / ${LOCATIONS.length} % 3], ${orderTs('i')},
            (${locations})[1 + i % ${LOCATIONS.length}], s.subtotal, t.tax, t.tip, s.subtotal + t.tax + t.tip
     FROM generate_series(${from}::bigint, ${to - 1}) AS i ${money}`,
    `INSERT INTO analytics.order_items (order_item_id, order_id, menu_item_id, category, item_name, unit_price, qty, extended_price, created_at)
     SELECT md5('item' || i || '/' || line)::uuid, ${orderId('i')}, NULL,
            (ARRAY['burger', 'pizza', 'pasta', 'salad', 'dessert', 'coffee', 'alcohol', 'soft_drink'])[1 + (i + line) % 8],
            'Item ' || ((i + line) % ${MENU_ITEMS}), 3 + (i + line) % ${MENU_ITEMS} * 0.1, 1 + line % 2, (3 + (i + line) % ${MENU_ITEMS} * 0.1) * (1 + line % 2), ${orderTs('i')}
     FROM generate_series(${from}::bigint, ${to - 1}) AS i CROSS JOIN LATERAL generate_series(1, 1 + i % 2) AS line`,
    `INSERT INTO analytics.payments (payment_id, order_id, method, provider, amount, auth_code, processed_at)
     SELECT md5('payment' || i)::uuid, ${orderId('i')}, 'card', 'bench', s.subtotal + t.tax + t.tip, NULL, ${orderTs('i')}
     FROM generate_series(${from}::bigint, ${to - 1}) AS i ${money}`,
    `INSERT INTO analytics.feedback (feedback_id, order_id, customer_id, rating, nps, comment, created_ts)
     SELECT md5('feedback' || i)::uuid, ${orderId('i')}, NULL, 1 + i % 5, i % 11, NULL, ${orderTs('i')} + interval '40 minutes'
     FROM generate_series(${from}::bigint, ${to - 1}) AS i WHERE i % 10 < 3`,
  ];
};

/**
 * Fills the facts as a bulk load does: unlogged, without keys and indexes (built afterwards,
 * sorted) and with triggers off, so the rollups are then built from the facts by `rollups rebuild`,
 * as an existing warehouse's are after the migration.
 */
async function fillWarehouse(warehouse: BenchWarehouse, orders: number, days: number, log: (line: string) => void): Promise<number> {
  const started = performance.now();
  await warehouse.pool.query(`
    ALTER TABLE analytics.order_items DROP CONSTRAINT order_items_order_id_fkey;
    ALTER TABLE analytics.payments DROP CONSTRAINT payments_order_id_fkey;
    ALTER TABLE analytics.feedback DROP CONSTRAINT feedback_order_id_fkey;
    DROP INDEX analytics.order_items_order_id, analytics.payments_order_id, analytics.feedback_order_id;
    ALTER TABLE analytics.orders DROP CONSTRAINT orders_pkey;
    ALTER TABLE analytics.order_items DROP CONSTRAINT order_items_pkey;
    ALTER TABLE analytics.payments DROP CONSTRAINT payments_pkey;
    ALTER TABLE analytics.feedback DROP CONSTRAINT feedback_pkey;
    ALTER TABLE analytics.orders SET UNLOGGED;
    ALTER TABLE analytics.order_items SET UNLOGGED;
    ALTER TABLE analytics.payments SET UNLOGGED;
    ALTER TABLE analytics.feedback SET UNLOGGED;`);
  const chunks: Array<[number, number]> = [];
  for (let from = 0; from < orders; from += FILL_CHUNK) chunks.push([from, Math.min(orders, from + FILL_CHUNK)]);
  let next = 0;
  const fillOne = async () => {
    const client = await warehouse.connect();
    try {
      await client.query("SET session_replication_role = replica; SET synchronous_commit = off; SET maintenance_work_mem = '256MB'");
      while (next < chunks.length) {
        const [from, to] = chunks[next++]!;
        for (const statement of fillStatements(from, to, orders, days)) await client.query(statement);
        log(`dashboards: filled orders ${from.toLocaleString('en')}..${to.toLocaleString('en')} (${round((performance.now() - started) / 1000)} s)`);
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all([fillOne(), fillOne()]);
  await warehouse.pool.query(`
    ALTER TABLE analytics.orders ADD PRIMARY KEY (order_id);
    ALTER TABLE analytics.order_items ADD PRIMARY KEY (order_item_id);
    ALTER TABLE analytics.payments ADD PRIMARY KEY (payment_id);
    ALTER TABLE analytics.feedback ADD PRIMARY KEY (feedback_id);
    CREATE INDEX order_items_order_id ON analytics.order_items (order_id);
    CREATE INDEX payments_order_id ON analytics.payments (order_id);
    CREATE INDEX feedback_order_id ON analytics.feedback (order_id);`);
  return (performance.now() - started) / 1000;
}

const ROLLUP_TABLES = ['sales_quarter_hour_rollup', 'location_hourly_rollup', 'menu_daily_rollup', 'menu_monthly_rollup', 'feedback_quarter_hour_rollup'] as const;

/** `rollups rebuild` over the filled warehouse, month by month; then fresh statistics for the cards. */
async function rebuild(warehouse: BenchWarehouse, log: (line: string) => void): Promise<{ seconds: number; rows: Record<string, number> }> {
  const client = await warehouse.connect();
  try {
    await client.query("SET work_mem = '256MB'");
    const report = await rebuildRollups(client, { onChunk: (chunk) => log(`dashboards: rebuilt ${chunk.months.join(' to ')} (${chunk.done} of ${chunk.of})`) });
    await client.query(`VACUUM ANALYZE ${ROLLUP_TABLES.map((table) => `analytics.${table}`).join(', ')}`);
    const { rows } = await client.query<Record<string, string>>(`SELECT ${ROLLUP_TABLES.map((table) => `(SELECT count(*) FROM analytics.${table}) AS ${table}`).join(', ')}`);
    return { seconds: report.seconds, rows: Object.fromEntries(Object.entries(rows[0]!).map(([name, count]) => [name, Number(count)])) };
  } finally {
    await client.end();
  }
}

/** The views against the facts in every session zone, and the rollups against the facts key by key. */
async function checkViews(warehouse: BenchWarehouse): Promise<DashboardsResult['view_checks']> {
  const started = performance.now();
  const client: pg.Client = await warehouse.connect();
  try {
    await client.query("SET work_mem = '256MB'");
    const compared = await compareViewsWithFacts(client);
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM analytics.rollup_discrepancies('-infinity')");
    return {
      zones: [...new Set(compared.map((c) => c.zone))],
      views: [...new Set(compared.map((c) => c.view))],
      seconds: round((performance.now() - started) / 1000),
      mismatches: compared.filter((c) => c.differing > 0 || c.viewRows === 0),
      rollup_discrepancies: Number(rows[0]!.n),
    };
  } finally {
    await client.end();
  }
}

/** Each card's SQL as Metabase runs it: as analytics_reader, read-only; one warm-up, then `runs` timed runs. */
async function timeCards(warehouse: BenchWarehouse, runs: number): Promise<Record<string, number>> {
  const client = await warehouse.connect();
  const cards: Record<string, number> = {};
  try {
    for (const card of cardsOf(RESTAURANT_DASHBOARDS)) {
      const times: number[] = [];
      for (let run = 0; run <= runs; run += 1) {
        await client.query('BEGIN READ ONLY');
        await client.query(`SET LOCAL ROLE ${ANALYTICS_READER_ROLE}`);
        const started = performance.now();
        await client.query(card.sql);
        if (run > 0) times.push(performance.now() - started);
        await client.query('ROLLBACK');
      }
      cards[card.name] = round(median(times), 2);
    }
  } finally {
    await client.end();
  }
  return cards;
}

async function disableRollupTriggers(warehouse: BenchWarehouse): Promise<void> {
  for (const [table, triggers] of ROLLUP_TRIGGERS) {
    for (const trigger of triggers) await warehouse.pool.query(`ALTER TABLE analytics.${table} DISABLE TRIGGER ${trigger}`);
  }
}

/**
 * The database side alone: the same generated events through the batch writer, in batches of 2,000
 * on one connection, into a fresh warehouse with the rollup triggers on or off. Less exposed to the
 * shared machine's noise than the whole path, and an upper bound of what the rollups cost it.
 */
async function writerSeconds(env: BenchEnvironment, rollups: boolean, batches: readonly Batch[]): Promise<number> {
  const warehouse = await env.createWarehouse(rollups ? 'writer_rollups_on' : 'writer_rollups_off');
  const client = await warehouse.connect();
  try {
    if (!rollups) await disableRollupTriggers(warehouse);
    const { token } = await takeOwnership(onConnection(client), 'bench_writer', 'bench', { offset: 0, epoch: 1, lastEventId: null });
    const writer = new BatchWriter(onConnection(client), await loadProcessors(), 'bench').forOwner(token);
    const started = performance.now();
    let offset = 0;
    for (const batch of batches) {
      offset += batch.size;
      await writer.write({ stream: 'bench_writer', batch, position: { offset, epoch: 1, lastEventId: batch.raw.at(-1)?.eventId ?? null }, lastEventTs: batch.lastEventTs(), sourceHeadOffset: null });
    }
    return (performance.now() - started) / 1000;
  } finally {
    await client.end();
    await warehouse.drop();
  }
}

async function writerBatches(): Promise<Batch[]> {
  const processors = await loadProcessors();
  const batches: Batch[] = [];
  for (const event of generateEvents({ seed: THROUGHPUT_SEED, rate: 'max' }, WRITER_EVENTS)) {
    if (batches.length === 0 || batches.at(-1)!.size >= WRITER_BATCH) batches.push(new Batch());
    const decoded = decodeText(event.text, event.offset, 1, processors);
    if (decoded.kind === 'event') batches.at(-1)!.addEvent(decoded.event, decoded.problem);
  }
  return batches;
}

/** Whole-path ingestion into a fresh warehouse, with the rollup triggers on or off. */
async function ingestRate(env: BenchEnvironment, rollups: boolean, options: DashboardsOptions): Promise<number> {
  const warehouse = await env.createWarehouse(rollups ? 'ingest_rollups_on' : 'ingest_rollups_off');
  try {
    if (!rollups) await disableRollupTriggers(warehouse);
    const pipeline = await Pipeline.start(env, { warehouse, api: { seed: THROUGHPUT_SEED, rate: 'max' }, stream: rollups ? 'bench_rollups_on' : 'bench_rollups_off' });
    try {
      const measured = await sustainedRate(env, pipeline, warehouse.pool, { seconds: options.ingestSeconds, warmUpSeconds: options.warmUpSeconds });
      return measured.rate.eps;
    } finally {
      await pipeline.stop();
    }
  } finally {
    await warehouse.drop();
  }
}

export async function measureDashboards(env: BenchEnvironment, options: DashboardsOptions): Promise<DashboardsResult> {
  const { log } = options;
  let ingest: Partial<DashboardsResult> = {};
  if (options.ingestSeconds > 0) {
    // Off, on, three times over: the machine is shared, so each side gets the mean of windows taken in turn.
    const off: number[] = [];
    const on: number[] = [];
    for (let pass = 0; pass < 3; pass += 1) {
      off.push(await ingestRate(env, false, options));
      on.push(await ingestRate(env, true, options));
      log(`dashboards: ingestion without rollups ${Math.round(off.at(-1)!)} events/s, with ${Math.round(on.at(-1)!)} events/s`);
    }
    const batches = await writerBatches();
    const writerOff: number[] = [];
    const writerOn: number[] = [];
    for (let pass = 0; pass < 3; pass += 1) {
      writerOff.push(await writerSeconds(env, false, batches));
      writerOn.push(await writerSeconds(env, true, batches));
      log(`dashboards: the writer alone, ${WRITER_EVENTS} events: ${round(writerOff.at(-1)!, 2)} s without rollups, ${round(writerOn.at(-1)!, 2)} s with`);
    }
    const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
    ingest = {
      ingest_eps_without_rollups: Math.round(mean(off)),
      ingest_eps_with_rollups: Math.round(mean(on)),
      ingest_with_vs_without: Number((mean(on) / mean(off)).toFixed(3)),
      writer_seconds_without_rollups: round(mean(writerOff), 2),
      writer_seconds_with_rollups: round(mean(writerOn), 2),
      writer_with_vs_without: Number((mean(writerOff) / mean(writerOn)).toFixed(3)),
    };
  }

  const warehouse = await env.createWarehouse('dashboards');
  try {
    const days = Math.round(options.years * 365.25);
    for (const location of LOCATIONS) await setLocation(warehouseDbOver(warehouse.pool), { businessDayStart: '00:00', ...location });
    log(`dashboards: filling ${options.orders.toLocaleString('en')} paid orders over ${options.years} years (${days} days) at ${LOCATIONS.length} locations`);
    const fillSeconds = await fillWarehouse(warehouse, options.orders, days, log);
    const rollups = await rebuild(warehouse, log);
    log(`dashboards: filled in ${round(fillSeconds)} s, rollups rebuilt in ${round(rollups.seconds)} s: ${JSON.stringify(rollups.rows)}`);
    const stallsBefore = pressureStallMicros();
    const cardsStarted = performance.now();
    const cards = await timeCards(warehouse, options.runs);
    const stallsAfter = pressureStallMicros();
    const elapsedMicros = (performance.now() - cardsStarted) * 1000;
    const times = Object.values(cards);
    const viewChecks = await checkViews(warehouse);
    log(`dashboards: views against the facts in ${viewChecks.zones.length} zones: ${viewChecks.mismatches.length} mismatches, ${viewChecks.rollup_discrepancies} rollup discrepancies (${viewChecks.seconds} s)`);
    return {
      orders: options.orders,
      history_years: options.years,
      locations: LOCATIONS.length,
      slowest_card_ms: Math.max(...times),
      all_cards_ms: round(times.reduce((sum, time) => sum + time, 0), 2),
      cards,
      fill_seconds: round(fillSeconds),
      rebuild_seconds: round(rollups.seconds),
      rollup_rows: rollups.rows,
      views_equal_facts: viewChecks.mismatches.length === 0 && viewChecks.rollup_discrepancies === 0,
      view_checks: viewChecks,
      cpu_pressure_percent_during_cards: stallsBefore && stallsAfter ? round(((stallsAfter.cpu - stallsBefore.cpu) / elapsedMicros) * 100) : undefined,
      ...ingest,
    };
  } finally {
    await warehouse.drop();
  }
}
