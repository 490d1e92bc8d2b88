import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventApi, type EventApi } from '../../generator-api/index.js';
import { COLUMN_SETTING_KEYS, type CardDefinition } from '../../metabase/cards.js';
import { cardsOf, DASHBOARD_GRID_COLUMNS, RESTAURANT_DASHBOARDS } from '../../metabase/dashboards.js';
import { ANALYTICS_READER_ROLE } from '../../warehouse/roles.js';
import { startIngestion, stopAllIngestion, waitForCheckpoint } from '../support/ingestion.js';
import { startTestWorker, type TestWorker } from '../support/temporal.js';
import { createMigratedWarehouse } from '../support/warehouse.js';

/** What each question must return, column by column, as Metabase will see it. */
const EXPECTED_COLUMNS: Record<string, readonly string[]> = {
  'Revenue, last 24 hours': ['revenue'],
  'Orders, last 24 hours': ['orders'],
  'Average order value, last 24 hours': ['avg_order_value'],
  'Tips, last 24 hours': ['tips'],
  'Sales by hour, last 24 hours': ['hour', 'orders', 'revenue'],
  'Sales by location, current business day': ['location_code', 'orders', 'revenue', 'avg_order_value'],
  'Ingestion freshness': [
    'stream_name',
    'event_offset',
    'lag_events',
    'lag_seconds',
    'seconds_since_last_read',
    'seconds_since_last_commit',
    'waiting_since',
    'last_batch_size',
    'rejected_last_hour',
    'source_restarts',
  ],
  'Revenue, last 30 days': ['revenue'],
  'Average order value, last 30 days': ['avg_order_value'],
  'Customer satisfaction, last 30 days': ['satisfaction_rate'],
  'Net promoter score, last 30 days': ['net_promoter_score'],
  'Daily revenue and average order value': ['business_day', 'revenue', 'avg_order_value'],
  'Location KPIs, last 30 days': ['location_code', 'time_zone', 'orders', 'revenue', 'avg_order_value', 'tips', 'avg_tip'],
  'Sales by business day and location': ['business_day', 'location_code', 'orders', 'revenue', 'avg_order_value'],
  'Daily customer satisfaction': ['day', 'feedback_count', 'avg_rating', 'satisfaction_rate', 'promoter_rate', 'detractor_rate'],
  'Peak hours, last 30 days': ['hour_of_day', 'orders', 'revenue'],
  'Orders by service type, last 24 hours': ['hour', 'service_type', 'orders'],
  'Top 15 menu items by revenue': ['item_name', 'category', 'times_ordered', 'total_quantity_sold', 'total_revenue'],
  'Revenue by menu category': ['category', 'revenue', 'quantity_sold'],
  'Service performance, last 30 days': ['service_type', 'orders', 'share_of_orders', 'revenue', 'avg_order_value', 'tip_percent'],
  'Slowest-moving menu items': ['item_name', 'category', 'total_quantity_sold', 'total_revenue', 'avg_unit_price'],
};

const cards = cardsOf(RESTAURANT_DASHBOARDS);

/** Result columns the card's visualization settings refer to. */
const columnsNamedBySettings = (card: CardDefinition) =>
  COLUMN_SETTING_KEYS.flatMap((key) => {
    const value = card.visualizationSettings[key];
    return value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((item) => String(item as string));
  });

describe('the dashboard definitions', () => {
  it('name every card once, and every card has its expected columns written down here', () => {
    const names = cards.map((card) => card.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.toSorted()).toEqual(Object.keys(EXPECTED_COLUMNS).toSorted());
  });

  it('lay the three promised dashboards out on the grid without overlaps', () => {
    expect(RESTAURANT_DASHBOARDS.map((dashboard) => dashboard.name)).toEqual(['Real-time Sales', 'Performance KPIs', 'Operational Insights']);
    for (const dashboard of RESTAURANT_DASHBOARDS) {
      const cells = new Set<string>();
      for (const { row, col, sizeX, sizeY } of dashboard.cards) {
        expect(col + sizeX).toBeLessThanOrEqual(DASHBOARD_GRID_COLUMNS);
        for (let y = row; y < row + sizeY; y += 1) {
          for (let x = col; x < col + sizeX; x += 1) {
            expect(cells.has(`${x},${y}`), `${dashboard.name}: two cards cover ${x},${y}`).toBe(false);
            cells.add(`${x},${y}`);
          }
        }
      }
    }
  });

  it.each(cards.map((card) => [card.name, card] as const))('%s: SQL that Metabase can wrap (no semicolon, no template tags)', (_name, card) => {
    expect(card.sql.trim()).not.toMatch(/;/);
    expect(card.sql).not.toMatch(/\{\{/);
  });
});

describe('every card’s SQL on a warehouse filled by real ingestion, run as analytics_reader', () => {
  let warehouse: Awaited<ReturnType<typeof createMigratedWarehouse>>;
  let testWorker: TestWorker;
  let api: EventApi;
  const EVENTS = 2_000;

  beforeAll(async () => {
    warehouse = await createMigratedWarehouse('metabase_cards');
    testWorker = await startTestWorker(warehouse.pool, { label: 'metabase-cards' });
    // Wall-clock timestamps: the events land inside the cards' "last 24 hours" and "last 30 days".
    api = await startEventApi({ port: 0, seed: 'metabase-cards', clock: 'wall', rate: 'max', maxEvents: EVENTS });
    const handle = await startIngestion(testWorker, 'realtime', { sourceUrl: api.url });
    await waitForCheckpoint(warehouse.pool, handle.workflowId, EVENTS);
    await stopAllIngestion();
  });
  afterAll(async () => {
    await stopAllIngestion();
    await api?.close();
    await testWorker?.stop();
    await warehouse?.close();
  });

  /** Runs `sql` as the role Metabase connects with, in a transaction that is rolled back. */
  async function asReader(sql: string): Promise<pg.QueryResult<Record<string, unknown>>> {
    const client = await warehouse.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL ROLE ${ANALYTICS_READER_ROLE}`);
      return await client.query(sql);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it.each(cards.map((card) => [card.name, card] as const))('%s', async (name, card) => {
    const result = await asReader(card.sql);
    const columns = result.fields.map((field) => field.name);
    expect(columns).toEqual(EXPECTED_COLUMNS[name]);
    expect(columns).toEqual(expect.arrayContaining(columnsNamedBySettings(card)));
    expect(result.rows.length).toBeGreaterThan(0);
    if (card.display === 'scalar') {
      expect(result.rows).toHaveLength(1);
      expect(result.rows[0]?.[columns[0]!]).not.toBeNull();
    }
  });

  it('agree with the facts: the 24-hour and 30-day scalars count every paid order of the run', async () => {
    const { rows } = await warehouse.pool.query<{ orders: string; revenue: string }>(
      'SELECT count(*) AS orders, sum(total) AS revenue FROM analytics.orders WHERE total IS NOT NULL',
    );
    const paid = rows[0]!;
    expect(Number(paid.orders)).toBeGreaterThan(0);
    const scalar = async (cardName: string) => {
      const card = cards.find((candidate) => candidate.name === cardName)!;
      const { rows: result } = await asReader(card.sql);
      return String(Object.values(result[0]!)[0]);
    };
    expect(await scalar('Orders, last 24 hours')).toBe(paid.orders);
    expect(await scalar('Revenue, last 24 hours')).toBe(paid.revenue);
    expect(await scalar('Revenue, last 30 days')).toBe(paid.revenue);
  });

  it('split orders into service types whose shares add up to 100 percent', async () => {
    const card = cards.find((candidate) => candidate.name === 'Service performance, last 30 days')!;
    const { rows } = await asReader(card.sql);
    const total = rows.reduce((sum, row) => sum + Number(row.share_of_orders), 0);
    expect(total).toBeCloseTo(100, 1);
  });
});
