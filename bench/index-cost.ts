import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator } from 'kysely';
import pg from 'pg';
import { loadConfig, projectRoot } from '../config/env.js';
import { generateEvents } from '../generator-api/sequence.js';
import { warehouseMigrationProvider } from '../migrations/index.js';
import { startEmbeddedPostgres } from '../stack/embedded-postgres.js';
import { createWarehouseDb, databaseUrl } from '../warehouse/connect.js';

/*
 * What each index and the audit trigger cost the ingest path, and what the kept ones pay back to
 * readers. Events come from the project's generator (its simulated clock spread over 30 days, so
 * retention has old rows to find), are written the way the worker writes them (one transaction per
 * batch, arrays + unnest) into the real migrated schema of a scratch database, and every variant is
 * loaded `repetitions` times from empty; the median run counts.
 */

export interface IndexCostOptions {
  /** Server to measure on (a scratch database is created and dropped); default BENCH_DATABASE_URL, DATABASE_URL, else an embedded one. */
  readonly serverUrl?: string;
  readonly events?: number;
  readonly batchSize?: number;
  readonly repetitions?: number;
  readonly log?: (line: string) => void;
}

interface Envelope {
  offset: number;
  event_id: string;
  event_type: string;
  ts: string;
  partition_key: string;
  payload: Record<string, unknown>;
}

interface Variant {
  readonly name: string;
  /** Run after the tables were emptied and stripped to their keys. */
  readonly setup: readonly string[];
  /** Undoes what `setup` did beyond creating indexes (which the next strip removes anyway). */
  readonly teardown?: readonly string[];
}

const SPAN_DAYS = 30;
const RETENTION_DAYS = 24;

const EVENTS_RAW_PK = 'ALTER TABLE raw_data.events_raw ADD CONSTRAINT events_raw_pkey PRIMARY KEY (event_id)';
const DROP_EVENTS_RAW_PK = 'ALTER TABLE raw_data.events_raw DROP CONSTRAINT events_raw_pkey';
const OLD_RAW_INDEXES = [
  'CREATE INDEX ON raw_data.events_raw (ts)',
  'CREATE INDEX ON raw_data.events_raw (event_type)',
  'CREATE INDEX ON raw_data.events_raw (partition_key)',
  'CREATE INDEX ON raw_data.events_raw (ingested_at)',
  'CREATE INDEX ON raw_data.events_raw USING gin (payload)',
];
const CHOSEN_RAW_INDEXES = ['CREATE INDEX ON raw_data.events_raw USING brin (ingested_at) WITH (autosummarize = on)'];

const rawVariants: readonly Variant[] = [
  { name: 'no index at all (reference)', setup: [DROP_EVENTS_RAW_PK], teardown: [EVENTS_RAW_PK] },
  { name: 'primary key (event_id) only — baseline', setup: [] },
  { name: '+ brin (ingested_at)', setup: CHOSEN_RAW_INDEXES },
  { name: '+ btree (ingested_at)', setup: ['CREATE INDEX ON raw_data.events_raw (ingested_at)'] },
  { name: '+ btree (ts)', setup: ['CREATE INDEX ON raw_data.events_raw (ts)'] },
  { name: '+ btree (event_type)', setup: ['CREATE INDEX ON raw_data.events_raw (event_type)'] },
  { name: '+ btree (partition_key)', setup: ['CREATE INDEX ON raw_data.events_raw (partition_key)'] },
  { name: '+ btree (stream_name, source_epoch, event_offset)', setup: ['CREATE INDEX ON raw_data.events_raw (stream_name, source_epoch, event_offset)'] },
  { name: '+ gin (payload)', setup: ['CREATE INDEX ON raw_data.events_raw USING gin (payload)'] },
  { name: '+ gin (payload jsonb_path_ops)', setup: ['CREATE INDEX ON raw_data.events_raw USING gin (payload jsonb_path_ops)'] },
  {
    name: 'old design: pk (event_offset), unique (event_id), 5 indexes incl. GIN',
    setup: [
      DROP_EVENTS_RAW_PK,
      'ALTER TABLE raw_data.events_raw ADD CONSTRAINT old_pkey PRIMARY KEY (event_offset)',
      'ALTER TABLE raw_data.events_raw ADD CONSTRAINT old_event_id_key UNIQUE (event_id)',
      ...OLD_RAW_INDEXES,
    ],
    teardown: ['ALTER TABLE raw_data.events_raw DROP CONSTRAINT old_event_id_key', 'ALTER TABLE raw_data.events_raw DROP CONSTRAINT old_pkey', EVENTS_RAW_PK],
  },
  { name: 'chosen design: pk (event_id) + brin (ingested_at)', setup: CHOSEN_RAW_INDEXES },
];

const CHILD_ORDER_INDEXES = [
  'CREATE INDEX ON analytics.order_items (order_id)',
  'CREATE INDEX ON analytics.payments (order_id)',
  'CREATE INDEX ON analytics.feedback (order_id)',
];
const ORDERS_TS_BRIN = 'CREATE INDEX ON analytics.orders USING brin (order_ts) WITH (autosummarize = on)';
const OLD_ORDER_INDEXES = [
  'CREATE INDEX ON analytics.orders (order_ts)',
  'CREATE INDEX ON analytics.orders (location_code)',
  'CREATE INDEX ON analytics.orders (service_type)',
  'CREATE INDEX ON analytics.orders (total)',
];
const OLD_CHILD_EXTRA_INDEXES = [
  'CREATE INDEX ON analytics.order_items (category)',
  'CREATE INDEX ON analytics.order_items (menu_item_id)',
  'CREATE INDEX ON analytics.payments (method)',
  'CREATE INDEX ON analytics.payments (provider)',
  'CREATE INDEX ON analytics.payments (processed_at)',
  'CREATE INDEX ON analytics.feedback (rating)',
  'CREATE INDEX ON analytics.feedback (nps)',
  'CREATE INDEX ON analytics.feedback (created_ts)',
];
const FOREIGN_KEYS = [
  ['order_items', 'order_items_order_id_fkey', 'ON DELETE CASCADE'],
  ['payments', 'payments_order_id_fkey', 'ON DELETE CASCADE'],
  ['feedback', 'feedback_order_id_fkey', 'ON DELETE SET NULL'],
] as const;

const factVariants: readonly Variant[] = [
  {
    name: 'primary keys only, no foreign keys (reference)',
    setup: FOREIGN_KEYS.map(([table, constraint]) => `ALTER TABLE analytics.${table} DROP CONSTRAINT ${constraint}`),
    teardown: FOREIGN_KEYS.map(
      ([table, constraint, action]) =>
        `ALTER TABLE analytics.${table} ADD CONSTRAINT ${constraint} FOREIGN KEY (order_id) REFERENCES analytics.orders (order_id) ${action}`,
    ),
  },
  { name: 'primary + foreign keys — baseline', setup: [] },
  { name: '+ btree (order_id) on items, payments, feedback', setup: CHILD_ORDER_INDEXES },
  { name: '+ brin (orders.order_ts)', setup: [ORDERS_TS_BRIN] },
  { name: '+ btree (orders.order_ts)', setup: ['CREATE INDEX ON analytics.orders (order_ts)'] },
  { name: '+ btree (orders.location_code), (orders.service_type)', setup: OLD_ORDER_INDEXES.slice(1, 3) },
  { name: '+ btree (orders.total)', setup: ['CREATE INDEX ON analytics.orders (total)'] },
  { name: "+ old children's extra indexes (category, menu_item_id, method, provider, processed_at, rating, nps, created_ts)", setup: OLD_CHILD_EXTRA_INDEXES },
  { name: 'old design: every old index', setup: [...OLD_ORDER_INDEXES, ...CHILD_ORDER_INDEXES, ...OLD_CHILD_EXTRA_INDEXES] },
  { name: 'chosen design: child order_id btrees + orders brin (order_ts)', setup: [...CHILD_ORDER_INDEXES, ORDERS_TS_BRIN] },
  {
    name: 'chosen design + orders fillfactor 50 (room for HOT payment updates)',
    setup: [...CHILD_ORDER_INDEXES, ORDERS_TS_BRIN, 'ALTER TABLE analytics.orders SET (fillfactor = 50)'],
    teardown: ['ALTER TABLE analytics.orders RESET (fillfactor)'],
  },
];

const AUDIT_TRIGGERS = ['orders', 'payments'].flatMap((table) => ['insert', 'update', 'delete'].map((op) => [table, `audit_${table}_${op}`] as const));
const disableStatementAudit = AUDIT_TRIGGERS.map(([table, trigger]) => `ALTER TABLE analytics.${table} DISABLE TRIGGER ${trigger}`);
const enableStatementAudit = AUDIT_TRIGGERS.map(([table, trigger]) => `ALTER TABLE analytics.${table} ENABLE TRIGGER ${trigger}`);
/** The old row-level design with its bug fixed (the key column as an argument), for comparison. */
const ROW_LEVEL_AUDIT = [
  `CREATE FUNCTION pg_temp.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO analytics.audit_log (operation, table_name, record_id, old_values, new_values)
     VALUES (TG_OP, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
             coalesce(to_jsonb(NEW), to_jsonb(OLD)) ->> TG_ARGV[0],
             CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
             CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
     RETURN NULL;
   END $$`,
  `CREATE TRIGGER bench_audit_orders AFTER INSERT OR UPDATE OR DELETE ON analytics.orders FOR EACH ROW EXECUTE FUNCTION pg_temp.audit_row('order_id')`,
  `CREATE TRIGGER bench_audit_payments AFTER INSERT OR UPDATE OR DELETE ON analytics.payments FOR EACH ROW EXECUTE FUNCTION pg_temp.audit_row('payment_id')`,
];
const DROP_ROW_LEVEL_AUDIT = [
  'DROP TRIGGER bench_audit_orders ON analytics.orders',
  'DROP TRIGGER bench_audit_payments ON analytics.payments',
  'DROP FUNCTION pg_temp.audit_row()',
];
const CHOSEN_FACT_INDEXES = [...CHILD_ORDER_INDEXES, ORDERS_TS_BRIN];

const auditVariants: readonly Variant[] = [
  { name: 'no audit trigger — baseline', setup: [...CHOSEN_FACT_INDEXES, ...disableStatementAudit], teardown: enableStatementAudit },
  { name: 'statement-level triggers with transition tables (chosen)', setup: CHOSEN_FACT_INDEXES },
  {
    name: 'row-level triggers (the old design, fixed)',
    setup: [...CHOSEN_FACT_INDEXES, ...disableStatementAudit, ...ROW_LEVEL_AUDIT],
    teardown: [...DROP_ROW_LEVEL_AUDIT, ...enableStatementAudit],
  },
];

/** One batch as the worker would send it: one array per column. */
interface RawBatch {
  readonly count: number;
  readonly columns: unknown[][];
}
interface FactBatch {
  readonly events: number;
  readonly orders: unknown[][];
  readonly items: unknown[][];
  readonly payments: unknown[][];
  readonly paidOrders: unknown[][];
  readonly feedback: unknown[][];
}

const columnsOf = <T>(rows: readonly T[], pick: ReadonlyArray<(row: T) => unknown>) => pick.map((get) => rows.map(get));

function prepare(events: readonly Envelope[], batchSize: number): { raw: RawBatch[]; facts: FactBatch[] } {
  const raw: RawBatch[] = [];
  const facts: FactBatch[] = [];
  for (let start = 0; start < events.length; start += batchSize) {
    const batch = events.slice(start, start + batchSize);
    raw.push({
      count: batch.length,
      columns: columnsOf(batch, [
        (e) => e.offset,
        (e) => e.event_id,
        (e) => e.event_type,
        (e) => e.ts,
        (e) => e.partition_key,
        (e) => JSON.stringify(e.payload),
        // Ingested when produced: the 30-day spread gives retention something to find.
        (e) => e.ts,
      ]),
    });
    const ofType = (type: string) => batch.filter((e) => e.event_type === type).map((e) => e.payload);
    const payments = ofType('payment_captured');
    facts.push({
      events: batch.length,
      orders: columnsOf(ofType('order_created'), ['order_id', 'visit_id', 'service_type', 'order_ts', 'location_code'].map((k) => (p) => p[k])),
      items: columnsOf(
        ofType('order_item_added'),
        ['order_item_id', 'order_id', 'menu_item_id', 'category', 'item_name', 'unit_price', 'qty', 'extended_price'].map((k) => (p) => p[k]),
      ),
      payments: columnsOf(payments, ['payment_id', 'order_id', 'method', 'provider', 'amount', 'auth_code'].map((k) => (p) => p[k])),
      paidOrders: columnsOf(payments, ['order_id', 'subtotal', 'tax', 'tip', 'total'].map((k) => (p) => p[k])),
      feedback: columnsOf(
        ofType('feedback_submitted'),
        ['feedback_id', 'order_id', 'customer_id', 'rating', 'nps', 'comment', 'created_ts'].map((k) => (p) => p[k]),
      ),
    });
  }
  return { raw, facts };
}

const INSERT_RAW = `
  INSERT INTO raw_data.events_raw (event_offset, event_id, event_type, ts, partition_key, payload, ingested_at, stream_name, source_epoch, ingested_by)
  SELECT o, id, t, ts, pk, p::jsonb, at, 'restaurant_realtime_stream', '1', 'bench'
  FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::timestamptz[]) AS u(o, id, t, ts, pk, p, at)
  ON CONFLICT DO NOTHING`;

const FACT_STATEMENTS = [
  `INSERT INTO analytics.orders (order_id, visit_id, service_type, order_ts, location_code)
   SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::text[]) ON CONFLICT DO NOTHING`,
  `INSERT INTO analytics.order_items (order_item_id, order_id, menu_item_id, category, item_name, unit_price, qty, extended_price)
   SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::numeric[], $7::int[], $8::numeric[]) ON CONFLICT DO NOTHING`,
  `INSERT INTO analytics.payments (payment_id, order_id, method, provider, amount, auth_code)
   SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::numeric[], $6::text[]) ON CONFLICT DO NOTHING`,
  `UPDATE analytics.orders AS o SET subtotal = p.subtotal, tax = p.tax, tip = p.tip, total = p.total, updated_at = now()
   FROM unnest($1::uuid[], $2::numeric[], $3::numeric[], $4::numeric[], $5::numeric[]) AS p(order_id, subtotal, tax, tip, total)
   WHERE o.order_id = p.order_id`,
  `INSERT INTO analytics.feedback (feedback_id, order_id, customer_id, rating, nps, comment, created_ts)
   SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::int[], $6::text[], $7::timestamptz[]) ON CONFLICT DO NOTHING`,
] as const;

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
/** "+12.3%" / "-4.0%": how much `value` exceeds `baseline`. */
const percentVs = (value: number, baseline: number) => `${value >= baseline ? '+' : ''}${(((value - baseline) / baseline) * 100).toFixed(1)}%`;
const seconds = (startedAt: bigint) => Number(process.hrtime.bigint() - startedAt) / 1e9;
const mebibytes = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));

/** The cost of one load: wall time, the server backend's CPU time (when it runs on this machine) and the WAL it wrote. */
interface RunCost {
  readonly seconds: number;
  readonly cpuSeconds: number | undefined;
  readonly walBytes: number;
}

interface VariantCost {
  readonly variant: string;
  /** The fastest run: on a shared machine the least disturbed one. */
  readonly bestSeconds: number;
  readonly medianSeconds: number;
  readonly cpuSeconds: number | undefined;
  readonly walBytes: number;
  readonly indexBytes: number;
}

/** Linux reports a process's CPU time in clock ticks of 1/100 s. */
const CLOCK_TICKS_PER_SECOND = 100;

class Bench {
  private backendPid = 0;

  constructor(
    private readonly client: pg.Client,
    private readonly log: (line: string) => void,
  ) {}

  async init(): Promise<void> {
    const { rows } = await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.backendPid = rows[0]?.pid ?? 0;
  }

  /** utime + stime of the server process serving us, or undefined when it is not a local process we can see. */
  private backendCpuSeconds(): number | undefined {
    try {
      const stat = readFileSync(`/proc/${this.backendPid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) return undefined;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
    } catch {
      return undefined;
    }
  }

  async exec(statements: readonly string[]): Promise<void> {
    for (const statement of statements) await this.client.query(statement);
  }

  /** Empties `tables` and drops every index that does not back a constraint. */
  async strip(tables: readonly string[]): Promise<void> {
    await this.client.query(`TRUNCATE ${tables.join(', ')} CASCADE`);
    const { rows } = await this.client.query<{ index: string }>(
      `SELECT i.indexrelid::regclass::text AS index FROM pg_index i
       WHERE i.indrelid = ANY($1::regclass[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`,
      [tables],
    );
    for (const row of rows) await this.client.query(`DROP INDEX ${row.index}`);
  }

  /** Flushes dirty buffers so one variant's checkpoint does not land in the next one's timing (needs superuser or pg_checkpoint). */
  async settle(): Promise<void> {
    await this.client.query('CHECKPOINT').catch(() => undefined);
  }

  async indexBytes(tables: readonly string[]): Promise<number> {
    const { rows } = await this.client.query<{ bytes: string }>(
      'SELECT coalesce(sum(pg_indexes_size(t)), 0) AS bytes FROM unnest($1::regclass[]) AS t',
      [tables],
    );
    return Number(rows[0]?.bytes ?? 0);
  }

  async loadRaw(batches: readonly RawBatch[]): Promise<void> {
    for (const batch of batches) await this.client.query(INSERT_RAW, batch.columns);
  }

  async loadFacts(batches: readonly FactBatch[]): Promise<void> {
    for (const batch of batches) {
      await this.client.query('BEGIN');
      const parts = [batch.orders, batch.items, batch.payments, batch.paidOrders, batch.feedback];
      for (const [index, statement] of FACT_STATEMENTS.entries()) {
        const columns = parts[index] ?? [];
        if ((columns[0]?.length ?? 0) > 0) await this.client.query(statement, columns);
      }
      await this.client.query('COMMIT');
    }
  }

  private async cost(load: () => Promise<void>): Promise<RunCost> {
    const { rows } = await this.client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn() AS lsn');
    const cpuBefore = this.backendCpuSeconds();
    const started = process.hrtime.bigint();
    await load();
    const elapsed = seconds(started);
    const cpuAfter = this.backendCpuSeconds();
    const { rows: wal } = await this.client.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1) AS bytes', [
      rows[0]?.lsn,
    ]);
    return {
      seconds: elapsed,
      cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
      walBytes: Number(wal[0]?.bytes ?? 0),
    };
  }

  /**
   * Loads every variant from empty tables, `repetitions` rounds of all variants in turn so that a
   * burst of load from elsewhere hits them alike. `afterLast` runs on each variant's final load.
   */
  async compare<Extra extends Record<string, unknown>>(
    variants: readonly Variant[],
    tables: readonly string[],
    repetitions: number,
    load: (variant: Variant) => Promise<void>,
    afterLast: (variant: Variant) => Promise<Extra>,
    beforeLoad: () => Promise<void> = async () => undefined,
  ): Promise<Array<VariantCost & Extra>> {
    const runs = new Map<Variant, RunCost[]>(variants.map((variant) => [variant, []]));
    const finals = new Map<Variant, { indexBytes: number; extra: Extra }>();
    for (let round = 1; round <= repetitions; round++) {
      for (const variant of variants) {
        await this.strip(tables);
        await this.exec(variant.setup);
        await this.settle();
        await beforeLoad();
        runs.get(variant)?.push(await this.cost(() => load(variant)));
        if (round === repetitions) finals.set(variant, { indexBytes: await this.indexBytes(tables), extra: await afterLast(variant) });
        await this.exec(variant.teardown ?? []);
      }
      this.log(`index-cost: round ${round}/${repetitions} over ${variants.length} variants done`);
    }
    return variants.map((variant) => {
      const costs = runs.get(variant) ?? [];
      const cpu = costs.map((run) => run.cpuSeconds);
      const final = finals.get(variant);
      return {
        variant: variant.name,
        bestSeconds: Math.min(...costs.map((run) => run.seconds)),
        medianSeconds: median(costs.map((run) => run.seconds)),
        cpuSeconds: cpu.every((value) => value !== undefined) ? median(cpu as number[]) : undefined,
        walBytes: median(costs.map((run) => run.walBytes)),
        indexBytes: final?.indexBytes ?? Number.NaN,
        ...(final?.extra as Extra),
      };
    });
  }

  /**
   * Retention as the maintenance job runs it: delete raw events older than the cut-off in bounded
   * chunks, then the probe that finds nothing left to delete (what every later run pays).
   */
  async retention(cutoff: string, chunk: number): Promise<{ deleted: number; deleteSeconds: number; emptyProbeMs: number }> {
    await this.client.query('VACUUM ANALYZE raw_data.events_raw');
    const statement = `DELETE FROM raw_data.events_raw WHERE ctid = ANY (ARRAY(
                         SELECT ctid FROM raw_data.events_raw WHERE ingested_at < $1 LIMIT ${chunk}))`;
    let deleted = 0;
    const started = process.hrtime.bigint();
    for (;;) {
      const { rowCount } = await this.client.query(statement, [cutoff]);
      deleted += rowCount ?? 0;
      if ((rowCount ?? 0) < chunk) break;
    }
    const deleteSeconds = seconds(started);
    await this.client.query('VACUUM raw_data.events_raw');
    const probes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const probeStart = process.hrtime.bigint();
      await this.client.query(statement, [cutoff]);
      probes.push(seconds(probeStart) * 1000);
    }
    return { deleted, deleteSeconds: Number(deleteSeconds.toFixed(3)), emptyProbeMs: Number(median(probes).toFixed(2)) };
  }

  /** What the reads that motivate the kept fact indexes cost: a Metabase date filter, and per-order lookups. */
  async factReads(day: string, orderIds: readonly string[]): Promise<{ oneDayOfOrdersMs: number; orderMetricsLookupsMs: number }> {
    await this.client.query('VACUUM ANALYZE analytics.orders, analytics.order_items, analytics.payments');
    const timed = async (run: () => Promise<unknown>) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = process.hrtime.bigint();
        await run();
        samples.push(seconds(started) * 1000);
      }
      return Number(median(samples).toFixed(2));
    };
    return {
      oneDayOfOrdersMs: await timed(() =>
        this.client.query(`SELECT count(*), sum(total) FROM analytics.orders WHERE order_ts >= $1::timestamptz AND order_ts < $1::timestamptz + interval '1 day'`, [
          day,
        ]),
      ),
      orderMetricsLookupsMs: await timed(async () => {
        for (const id of orderIds) await this.client.query('SELECT * FROM analytics.calculate_order_metrics($1)', [id]);
      }),
    };
  }

  /** n_tup_hot_upd / n_tup_upd of orders since `before`, once the statistics have been flushed. */
  async hotUpdates(before: { updates: number; hot: number }, expectedUpdates: number): Promise<number> {
    for (let attempt = 0; attempt < 30; attempt++) {
      const now = await this.updateCounters();
      const updates = now.updates - before.updates;
      if (updates >= expectedUpdates) return Number((((now.hot - before.hot) / updates) * 100).toFixed(1));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return Number.NaN;
  }

  async updateCounters(): Promise<{ updates: number; hot: number }> {
    await this.client.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await this.client.query<{ updates: string; hot: string }>(
      `SELECT n_tup_upd AS updates, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relid = 'analytics.orders'::regclass`,
    );
    return { updates: Number(rows[0]?.updates ?? 0), hot: Number(rows[0]?.hot ?? 0) };
  }
}

async function serverToMeasure(options: IndexCostOptions, log: (line: string) => void): Promise<{ url: string; stop: () => Promise<void> }> {
  const given = options.serverUrl ?? process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (given) return { url: given, stop: async () => undefined };
  const config = loadConfig();
  log('index-cost: no BENCH_DATABASE_URL/DATABASE_URL: starting an embedded PostgreSQL');
  const embedded = await startEmbeddedPostgres({ clusterDir: path.join(config.DATA_DIR, 'bench', 'postgres'), preferredPort: 0, sink: () => undefined });
  return { url: embedded.adminUrl, stop: embedded.stop };
}

export async function measureIndexCost(options: IndexCostOptions = {}): Promise<Record<string, unknown>> {
  const log = options.log ?? ((line: string) => console.log(line));
  const eventCount = options.events ?? 200_000;
  const batchSize = options.batchSize ?? 1_000;
  const repetitions = options.repetitions ?? 3;

  const generated = generateEvents({ seed: 'bench-index-cost', rate: eventCount / (SPAN_DAYS * 86_400) }, eventCount);
  const events = generated.map((event) => JSON.parse(event.text) as Envelope);
  const { raw, facts } = prepare(events, batchSize);
  const orderIds = events.filter((e) => e.event_type === 'order_created').map((e) => String(e.payload.order_id));
  const firstTs = Date.parse(events[0]?.ts ?? '');
  const factEvents = facts.reduce((sum, batch) => sum + batch.events, 0);
  const payments = events.filter((e) => e.event_type === 'payment_captured').length;

  const server = await serverToMeasure(options, log);
  const scratch = `index_cost_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${scratch}`);
  const scratchUrl = databaseUrl(server.url, scratch);
  const client = new pg.Client({ connectionString: scratchUrl });
  try {
    const db = createWarehouseDb<unknown>(scratchUrl, { maxConnections: 1 });
    const { error } = await new Migrator({ db, provider: warehouseMigrationProvider }).migrateToLatest();
    await db.destroy();
    if (error !== undefined) throw error;
    await client.connect();
    const bench = new Bench(client, log);
    const { rows: settings } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'max_wal_size')`,
    );

    await bench.init();
    log(`index-cost: ${eventCount} events in batches of ${batchSize}, ${repetitions} rounds`);
    const rawTables = ['raw_data.events_raw'];
    const retentionCutoff = new Date(firstTs + (SPAN_DAYS - RETENTION_DAYS) * 86_400_000).toISOString();
    const measuredRetention = new Set([rawVariants[1]?.name, rawVariants[2]?.name, rawVariants[3]?.name]);
    // One untimed load first: the first timed runs would otherwise pay for cold caches and catalogs.
    await bench.strip(rawTables);
    await bench.loadRaw(raw);
    const rawResults = await bench.compare(rawVariants, rawTables, repetitions, () => bench.loadRaw(raw), async (variant) =>
      measuredRetention.has(variant.name) ? { retention: await bench.retention(retentionCutoff, 5_000) } : {},
    );

    const factTables = ['analytics.orders', 'analytics.order_items', 'analytics.payments', 'analytics.feedback'];
    await bench.exec(disableStatementAudit);
    await bench.strip(factTables);
    await bench.loadFacts(facts);
    let counters = { updates: 0, hot: 0 };
    const readDay = new Date(firstTs + 10 * 86_400_000).toISOString();
    const sampleOrders = orderIds.filter((_, index) => index % Math.max(1, Math.floor(orderIds.length / 200)) === 0).slice(0, 200);
    const factResults = await bench.compare(
      factVariants,
      factTables,
      repetitions,
      () => bench.loadFacts(facts),
      async () => ({ hotUpdatePercent: await bench.hotUpdates(counters, payments), ...(await bench.factReads(readDay, sampleOrders)) }),
      async () => void (counters = await bench.updateCounters()),
    );
    await bench.exec(enableStatementAudit);

    const auditTables = [...factTables, 'analytics.audit_log'];
    const auditResults = await bench.compare(auditVariants, auditTables, repetitions, () => bench.loadFacts(facts), async () => {
      const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM analytics.audit_log');
      return { auditRows: Number(rows[0]?.count ?? 0) };
    });

    /** Throughput of the best run and of the median run, and the server-side costs, each against the baseline variant. */
    const summarise = <Row extends VariantCost>(rows: readonly Row[], baseline: Row | undefined, units: number, rate: string) =>
      rows.map(({ variant, bestSeconds, medianSeconds, cpuSeconds, walBytes, indexBytes, ...extra }) => ({
        variant,
        [rate]: Math.round(units / bestSeconds),
        [`${rate}Median`]: Math.round(units / medianSeconds),
        throughputVsBaseline: percentVs((baseline?.bestSeconds ?? Number.NaN) / bestSeconds, 1),
        serverCpuSeconds: cpuSeconds === undefined ? null : Number(cpuSeconds.toFixed(2)),
        cpuVsBaseline: cpuSeconds === undefined || baseline?.cpuSeconds === undefined ? null : percentVs(cpuSeconds, baseline.cpuSeconds),
        walMiB: mebibytes(walBytes),
        walVsBaseline: percentVs(walBytes, baseline?.walBytes ?? Number.NaN),
        indexMiB: mebibytes(indexBytes),
        ...extra,
      }));
    return {
      measuredAt: new Date().toISOString(),
      server: Object.fromEntries(settings.map((row) => [row.name, row.setting])),
      events: eventCount,
      factEvents,
      batchSize,
      rounds: repetitions,
      method: [
        'Every variant loads all events from empty tables of the migrated schema, the way the worker writes: one INSERT … SELECT FROM unnest per table and batch; facts one transaction per batch (orders, items, payments, the payment update of orders, feedback).',
        `The variants run in ${repetitions} interleaved rounds; throughput is from the fastest run (on a shared machine the least disturbed) and the median run.`,
        'serverCpuSeconds is the CPU time of the PostgreSQL backend doing the load (when the server runs on this machine) and walMiB the WAL it wrote: both barely move with load from elsewhere.',
        'Percentages compare with the row marked baseline: throughput higher is better, CPU and WAL lower is better.',
      ],
      eventsRaw: summarise(rawResults, rawResults[1], eventCount, 'rowsPerSecond'),
      facts: summarise(factResults, factResults[1], factEvents, 'eventsPerSecond'),
      auditTriggers: summarise(auditResults, auditResults[0], factEvents, 'eventsPerSecond'),
    };
  } finally {
    await client.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    await admin.end();
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = await measureIndexCost();
  const folder = path.join(projectRoot, 'bench', 'results');
  mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'index-cost.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`index-cost: results in ${path.relative(projectRoot, file)}`);
}
