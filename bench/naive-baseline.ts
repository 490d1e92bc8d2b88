import { generateEvents } from '../generator-api/index.js';
import type { BenchEnvironment } from './environment.js';
import { FACT_SHAPES, ORDER_MONEY, parseEnvelopes, RAW_ROW, type RowShape } from './warehouse-rows.js';

export interface NaiveBaselineOptions {
  readonly seed: string;
  readonly seconds: number;
}

export interface NaiveBaselineResult {
  readonly eps: number;
  readonly events: number;
  readonly seconds: number;
  /** Autocommitted statements run: each one a transaction, each commit a WAL flush. */
  readonly statements: number;
}

/** More events than the old way gets through in the time (it managed 0.4–4.5k rows/s here). */
const EVENTS_PER_SECOND_BOUND = 5_000;

const insertOf = (shape: RowShape) =>
  `INSERT INTO ${shape.table} (${shape.columns.join(', ')}) VALUES (${shape.columns.map((_, i) => `$${i + 1}`).join(', ')}) ON CONFLICT DO NOTHING`;

const UPDATE_ORDER_MONEY = `UPDATE analytics.orders SET ${ORDER_MONEY.columns.map((column, i) => `${column} = $${i + 2}`).join(', ')}, updated_at = now() WHERE order_id = $1`;

/**
 * The old stack's way, as its Airflow operator wrote: per event, an INSERT of the raw row and one of
 * its fact row (a payment also updates its order), each statement its own autocommitted transaction.
 */
export async function measureNaiveBaseline(env: BenchEnvironment, options: NaiveBaselineOptions): Promise<NaiveBaselineResult> {
  const events = parseEnvelopes(generateEvents({ seed: options.seed, rate: 'max' }, options.seconds * EVENTS_PER_SECOND_BOUND));
  const warehouse = await env.createWarehouse('naive');
  const client = await warehouse.connect();
  try {
    const insertRaw = insertOf(RAW_ROW);
    const startedAt = performance.now();
    const deadline = startedAt + options.seconds * 1000;
    let done = 0;
    let statements = 0;
    for (const event of events) {
      if (performance.now() >= deadline) break;
      await client.query(insertRaw, RAW_ROW.values(event));
      const fact = FACT_SHAPES.get(event.event_type);
      if (fact) await client.query(insertOf(fact), fact.values(event));
      if (event.event_type === 'payment_captured') await client.query(UPDATE_ORDER_MONEY, [ORDER_MONEY.orderId(event), ...ORDER_MONEY.values(event)]);
      statements += fact ? (event.event_type === 'payment_captured' ? 3 : 2) : 1;
      done += 1;
    }
    const seconds = (performance.now() - startedAt) / 1000;
    if (done === events.length) throw new Error(`the naive baseline ran out of its ${events.length} events before ${options.seconds} s`);
    return { eps: Math.round(done / seconds), events: done, seconds: Number(seconds.toFixed(1)), statements };
  } finally {
    await client.end();
    await warehouse.drop();
  }
}
