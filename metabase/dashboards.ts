import * as cards from './cards.js';
import type { CardDefinition } from './cards.js';

/** Metabase lays dashboards out on a grid 24 columns wide (since v0.46). */
export const DASHBOARD_GRID_COLUMNS = 24;

export interface CardPlacement {
  readonly card: CardDefinition;
  readonly row: number;
  readonly col: number;
  readonly sizeX: number;
  readonly sizeY: number;
}

export interface DashboardDefinition {
  /** Unique within the collection: provisioning finds an existing dashboard by it. */
  readonly name: string;
  readonly description: string;
  readonly cards: readonly CardPlacement[];
}

/** Cards side by side in one row, each `sizeX` wide. */
function row(at: number, sizeY: number, sizeX: number, ...placed: CardDefinition[]): CardPlacement[] {
  return placed.map((card, index) => ({ card, row: at, col: index * sizeX, sizeX, sizeY }));
}

const KPI = { height: 3, width: DASHBOARD_GRID_COLUMNS / 4 };
const HALF = DASHBOARD_GRID_COLUMNS / 2;
const FULL = DASHBOARD_GRID_COLUMNS;

/** The three dashboards the Airflow stack's README promised. */
export const RESTAURANT_DASHBOARDS: readonly DashboardDefinition[] = [
  {
    name: 'Real-time Sales',
    description: 'Live transaction monitoring: the last 24 hours of paid orders, and how fresh the ingested data is. Add #refresh=60 to the URL to refresh every minute.',
    cards: [
      ...row(0, KPI.height, KPI.width, cards.revenueLast24Hours, cards.ordersLast24Hours, cards.averageOrderValueLast24Hours, cards.tipsLast24Hours),
      ...row(3, 6, HALF, cards.salesByHour, cards.salesByLocation),
      ...row(9, 4, FULL, cards.ingestionFreshness),
    ],
  },
  {
    name: 'Performance KPIs',
    description: 'Revenue, average order value and customer satisfaction over the last 30 days; sales by each location’s own business day.',
    cards: [
      ...row(0, KPI.height, KPI.width, cards.revenueLast30Days, cards.averageOrderValueLast30Days, cards.satisfactionLast30Days, cards.netPromoterScoreLast30Days),
      ...row(3, 6, HALF, cards.dailyRevenue, cards.dailySatisfaction),
      ...row(9, 5, FULL, cards.locationKpis),
      ...row(14, 7, FULL, cards.salesByBusinessDayAndLocation),
    ],
  },
  {
    name: 'Operational Insights',
    description: 'Peak hours, popular and slow menu items, and how dine-in, takeout and delivery perform.',
    cards: [
      ...row(0, 6, HALF, cards.peakHours, cards.serviceMixByHour),
      ...row(6, 7, HALF, cards.topMenuItems, cards.revenueByCategory),
      ...row(13, 5, HALF, cards.servicePerformance, cards.slowMenuItems),
    ],
  },
];

/** Every card the dashboards place, once each, in order of first appearance. */
export function cardsOf(dashboards: readonly DashboardDefinition[]): CardDefinition[] {
  return [...new Set(dashboards.flatMap((dashboard) => dashboard.cards.map((placement) => placement.card)))];
}
