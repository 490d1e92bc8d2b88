import { generateEvents } from '../generator-api/index.js';
import { copyFrom, encodeCopyText } from './copy-in.js';
import type { BenchEnvironment } from './environment.js';
import { FACT_SHAPES, ORDER_MONEY, parseEnvelopes, RAW_ROW, type Envelope } from './warehouse-rows.js';

export interface CopyFloorOptions {
  readonly seed: string;
  readonly events: number;
}

export interface CopyFloorResult {
  readonly eps: number;
  readonly events: number;
  /** Rows written over all tables (raw events, orders, items, payments, feedback). */
  readonly rows: number;
  readonly seconds: number;
  /** Seconds each table's COPY took (the rest is the commit). */
  readonly tableSeconds: Record<string, number>;
}

/** Each table's COPY target and rows; an order carries its payment's money columns (COPY cannot update). */
function tablesOf(events: readonly Envelope[]): Array<{ target: string; rows: unknown[][] }> {
  const money = new Map(events.filter((e) => e.event_type === 'payment_captured').map((e) => [ORDER_MONEY.orderId(e), ORDER_MONEY.values(e)]));
  const noMoney = ORDER_MONEY.columns.map(() => null);
  const ofType = (type: string) => events.filter((e) => e.event_type === type);
  const orders = FACT_SHAPES.get('order_created')!;
  return [
    { target: `${RAW_ROW.table} (${RAW_ROW.columns.join(', ')})`, rows: events.map(RAW_ROW.values) },
    {
      target: `${orders.table} (${[...orders.columns, ...ORDER_MONEY.columns].join(', ')})`,
      rows: ofType('order_created').map((e) => [...orders.values(e), ...(money.get(String(e.payload.order_id)) ?? noMoney)]),
    },
    ...['order_item_added', 'payment_captured', 'feedback_submitted'].map((type) => {
      const shape = FACT_SHAPES.get(type)!;
      return { target: `${shape.table} (${shape.columns.join(', ')})`, rows: ofType(type).map(shape.values) };
    }),
  ];
}

/**
 * The physical floor of this machine: the throughput run's events (same seed, offsets 1..N) as the
 * same rows in the same migrated tables — keys, indexes, foreign keys and audit triggers included —
 * written with COPY in one transaction. Rows are encoded before the clock starts.
 */
export async function measureCopyFloor(env: BenchEnvironment, options: CopyFloorOptions): Promise<CopyFloorResult> {
  const events = parseEnvelopes(generateEvents({ seed: options.seed, rate: 'max' }, options.events));
  const tables = tablesOf(events).map(({ target, rows }) => ({ target, chunks: encodeCopyText(rows) }));
  const warehouse = await env.createWarehouse('copy_floor');
  const client = await warehouse.connect();
  try {
    const startedAt = performance.now();
    await client.query('BEGIN');
    let rows = 0;
    const tableSeconds: Record<string, number> = {};
    for (const { target, chunks } of tables) {
      const tableStartedAt = performance.now();
      rows += await copyFrom(client, target, chunks);
      tableSeconds[target.split(' ')[0]!] = Number(((performance.now() - tableStartedAt) / 1000).toFixed(2));
    }
    await client.query('COMMIT');
    const seconds = (performance.now() - startedAt) / 1000;
    return { eps: Math.round(events.length / seconds), events: events.length, rows, seconds: Number(seconds.toFixed(2)), tableSeconds };
  } finally {
    await client.end();
    await warehouse.drop();
  }
}
