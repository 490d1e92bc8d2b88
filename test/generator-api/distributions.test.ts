import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MENU_CATEGORIES,
  knownEventSchema,
  type EventOf,
  type KnownEvent,
  type MenuCategory,
} from '../../events/index.js';
import { verdictOf } from '../support/verdict.js';
import { ARRIVAL_PROFILE } from '../../generator-api/arrivals.js';
import { hourOfDay, parseTimestamp } from '../../generator-api/clock.js';
import { generateEvents, startEventApi, type EventApi } from '../../generator-api/index.js';
import { CATEGORY_PROFILES, categoryWeights, DAY_PART_BOOSTS, dayPartOf, type DayPart } from '../../generator-api/menu.js';
import { COMMENT_SHARE, MEAN_EVENTS_PER_ORDER } from '../../generator-api/simulation.js';
import { range } from './harness.js';
import { fetchAllEvents } from './sse-client.js';

const EVENTS = 50_000;

// The distributions as EVENTS.md states them, written out again so that a change to the simulation's
// tables cannot quietly change what is checked.
const LOCATIONS = Array.from({ length: 12 }, (_, i) => [`LOC-ON-${String(i + 1).padStart(3, '0')}`, 1] as const);
const SERVICE_TYPES = [['dine_in', 62], ['takeout', 23], ['delivery', 15]] as const;
const ITEMS_PER_ORDER = [[1, 60], [2, 28], [3, 9], [4, 3]] as const;
const QUANTITIES = [[1, 85], [2, 12], [3, 3]] as const;
const METHODS = [['credit_card', 52], ['debit', 18], ['cash', 14], ['digital_wallet', 12], ['gift_card', 4]] as const;
const PROVIDERS = {
  credit_card: [['VISA', 48], ['Mastercard', 42], ['Amex', 10]],
  debit: [['Interac', 1]],
  cash: [[null, 1]],
  digital_wallet: [['Apple Pay', 65], ['Google Pay', 35]],
  gift_card: [['Gift Card', 1]],
} as const;
const TAX_RATE = 0.13;
const TIP_RANGES = { dine_in: [0.12, 0.24], delivery: [0.08, 0.2] } as const;
const TAKEOUT_TIPS = [[0, 70], [0.06, 20], [0.1, 10]] as const;
const FEEDBACK_SHARE = 0.25;
const RATINGS = [[1, 4], [2, 6], [3, 20], [4, 36], [5, 34]] as const;
const NPS_RANGES: Record<number, readonly [number, number]> = { 1: [0, 6], 2: [0, 6], 3: [4, 8], 4: [7, 10], 5: [8, 10] };
const CATEGORIES: Record<MenuCategory, readonly [number, number, number]> = {
  coffee: [5, 2.25, 6], breakfast: [7, 8, 16], appetizer: [8, 7, 16], salad: [7, 9, 19], sandwich: [8, 10, 19],
  burger: [10, 12, 22], pizza: [8, 12, 26], pasta: [7, 12, 26], entree: [18, 15, 40], dessert: [6, 5, 12],
  kids: [3, 7, 12], beverage: [7, 2, 6], alcohol: [6, 6, 16],
};

/**
 * A share is accepted within 5 standard errors of its expected value: the seed is fixed, so this never
 * flakes, and a wrong weight of a few points over thousands of draws still fails.
 */
function expectShares<T>(observed: readonly T[], weights: ReadonlyArray<readonly [T, number]>, label: string): void {
  const total = weights.reduce((sum, [, weight]) => sum + weight, 0);
  for (const [value, weight] of weights) {
    const expected = weight / total;
    const share = observed.filter((item) => item === value).length / observed.length;
    const tolerance = 5 * Math.sqrt((expected * (1 - expected)) / observed.length);
    expect(Math.abs(share - expected), `${label} ${String(value)}: ${share.toFixed(4)} vs ${expected.toFixed(4)}`).toBeLessThanOrEqual(tolerance);
  }
}

const cents = (dollars: number) => Math.round(dollars * 100);
const ofType = <Type extends KnownEvent['event_type']>(events: readonly KnownEvent[], type: Type) =>
  events.filter((event): event is EventOf<Type> => event.event_type === type);

describe(`the simulation's distributions over ${EVENTS.toLocaleString('en')} events served over HTTP`, () => {
  let api: EventApi;
  let events: KnownEvent[];
  let orders: Map<string, { created: EventOf<'order_created'>; items: EventOf<'order_item_added'>[]; payment?: EventOf<'payment_captured'>; feedback?: EventOf<'feedback_submitted'> }>;

  beforeAll(async () => {
    api = await startEventApi({ port: 0, seed: 'statistics', rate: 'max', maxEvents: EVENTS, retention: EVENTS });
    await api.waitForHead(EVENTS);
    const raw = await fetchAllEvents(api.url);
    events = raw.map((element) => {
      const verdict = verdictOf(element);
      if (verdict !== 'valid') throw new Error(`event failed the contract: ${verdict}`);
      return knownEventSchema.parse(element);
    });
    orders = new Map();
    for (const event of events) {
      if (event.event_type === 'order_created') orders.set(event.payload.order_id, { created: event, items: [] });
      const order = orders.get(event.payload.order_id);
      if (!order) throw new Error(`event ${event.offset} comes before its order_created`);
      if (event.event_type === 'order_item_added') order.items.push(event);
      if (event.event_type === 'payment_captured') order.payment = event;
      if (event.event_type === 'feedback_submitted') order.feedback = event;
    }
    // The last order may be cut short by maxEvents.
    for (const [orderId, order] of orders) if (!order.payment) orders.delete(orderId);
  });
  afterAll(() => api?.close());

  it('serves every offset once, in order, each a valid known event with non-decreasing timestamps', () => {
    expect(events.map((event) => event.offset)).toEqual(range(1, EVENTS));
    expect(new Set(events.map((event) => event.event_id)).size).toBe(EVENTS);
    for (let i = 1; i < events.length; i++) expect(events[i]!.ts >= events[i - 1]!.ts).toBe(true);
    expect(orders.size).toBeGreaterThan(EVENTS / (MEAN_EVENTS_PER_ORDER + 0.2));
  });

  it('spreads orders over 12 locations and the service types 62/23/15', () => {
    const created = [...orders.values()].map((order) => order.created.payload);
    expectShares(created.map((order) => order.location_code), LOCATIONS, 'location');
    expectShares(created.map((order) => order.service_type), SERVICE_TYPES, 'service type');
    for (const order of orders.values()) expect(order.created.payload.order_ts).toBe(order.created.ts);
  });

  it('orders 1–4 items (60/28/9/3), quantities 1–3 (85/12/3), with extended = unit × qty', () => {
    expectShares([...orders.values()].map((order) => order.items.length), ITEMS_PER_ORDER, 'items per order');
    const items = ofType(events, 'order_item_added').map((event) => event.payload);
    expectShares(items.map((item) => item.qty), QUANTITIES, 'quantity');
    for (const item of items) expect(cents(item.extended_price)).toBe(cents(item.unit_price) * item.qty);
  });

  it('draws categories by weight boosted for the time of day, priced within their ranges from a fixed menu', () => {
    for (const category of MENU_CATEGORIES) {
      const { weight, price } = CATEGORY_PROFILES[category];
      expect([weight, ...price]).toEqual(CATEGORIES[category]);
    }
    expect(DAY_PART_BOOSTS.morning).toMatchObject({ coffee: 1.8, alcohol: 0.2 });

    const items = ofType(events, 'order_item_added');
    const orderHour = (orderId: string) => hourOfDay(parseTimestamp(orders.get(orderId)?.created.ts ?? '1970-01-01T00:00:00Z'));
    const expected = new Map<MenuCategory, number>(MENU_CATEGORIES.map((category) => [category, 0]));
    for (const item of items) {
      const weights = categoryWeights(dayPartOf(orderHour(item.payload.order_id)));
      const total = Object.values(weights).reduce((sum, weight) => sum + weight, 0);
      for (const category of MENU_CATEGORIES) expected.set(category, expected.get(category)! + weights[category] / total);
    }
    expectShares(items.map((item) => item.payload.category), [...expected], 'category');

    const menu = new Map<string, string>();
    for (const { payload } of items) {
      const [, low, high] = CATEGORIES[payload.category];
      expect(payload.unit_price).toBeGreaterThanOrEqual(low);
      expect(payload.unit_price).toBeLessThanOrEqual(high);
      expect(payload.item_name).toMatch(new RegExp(`^${payload.category}\\s\\d+$`, 'i'));
      const entry = `${payload.menu_item_id} ${payload.unit_price}`;
      expect(menu.get(payload.item_name) ?? entry).toBe(entry);
      menu.set(payload.item_name, entry);
    }
  });

  it('captures payments by method and provider, with 13% tax, tips by service type, and consistent totals', () => {
    const paid = [...orders.values()].map((order) => ({ order, payment: order.payment!.payload }));
    expectShares(paid.map(({ payment }) => payment.method), METHODS, 'method');
    for (const [method, weights] of Object.entries(PROVIDERS)) {
      expectShares(paid.filter(({ payment }) => payment.method === method).map(({ payment }) => payment.provider), weights, `${method} provider`);
    }
    const takeoutRates: number[] = [];
    for (const { order, payment } of paid) {
      expect(payment.auth_code === null).toBe(payment.method === 'cash' || payment.method === 'gift_card');
      expect(cents(payment.subtotal)).toBe(order.items.reduce((sum, item) => sum + cents(item.payload.extended_price), 0));
      expect(cents(payment.tax)).toBe(Math.round(cents(payment.subtotal) * TAX_RATE));
      expect(cents(payment.total)).toBe(cents(payment.subtotal) + cents(payment.tax) + cents(payment.tip));
      expect(payment.amount).toBe(payment.total);
      expect(payment.location_code).toBe(order.created.payload.location_code);
      const rate = payment.tip / payment.subtotal;
      const rounding = 0.005 / payment.subtotal;
      const serviceType = order.created.payload.service_type;
      if (serviceType === 'takeout') {
        const nearest = TAKEOUT_TIPS.map(([tip]) => tip).find((tip) => Math.abs(rate - tip) <= rounding + 1e-9);
        expect(nearest, `takeout tip rate ${rate}`).toBeDefined();
        takeoutRates.push(nearest!);
      } else {
        const [low, high] = TIP_RANGES[serviceType];
        expect(rate).toBeGreaterThanOrEqual(low - rounding - 1e-9);
        expect(rate).toBeLessThanOrEqual(high + rounding + 1e-9);
      }
    }
    expectShares(takeoutRates, TAKEOUT_TIPS, 'takeout tip');
  });

  it('collects feedback for about 25% of orders, with NPS consistent with the rating and never a future timestamp', () => {
    const all = [...orders.values()];
    expectShares(all.map((order) => order.feedback !== undefined), [[true, FEEDBACK_SHARE], [false, 1 - FEEDBACK_SHARE]], 'feedback');
    const feedback = all.flatMap((order) => (order.feedback ? [{ order, event: order.feedback }] : []));
    expectShares(feedback.map(({ event }) => event.payload.rating), RATINGS, 'rating');
    expectShares(feedback.map(({ event }) => event.payload.comment !== null), [[true, COMMENT_SHARE], [false, 1 - COMMENT_SHARE]], 'comment');
    for (const { order, event } of feedback) {
      const [low, high] = NPS_RANGES[event.payload.rating]!;
      expect(event.payload.nps).toBeGreaterThanOrEqual(low);
      expect(event.payload.nps).toBeLessThanOrEqual(high);
      expect(parseTimestamp(event.payload.created_ts)).toBeLessThanOrEqual(parseTimestamp(event.ts));
      expect(parseTimestamp(event.payload.created_ts)).toBeGreaterThanOrEqual(parseTimestamp(order.created.payload.order_ts));
    }
  });
});

describe('the arrival pattern', () => {
  it('averages to the target rate over a day', () => {
    expect(ARRIVAL_PROFILE.reduce((sum, value) => sum + value, 0) / 24).toBeCloseTo(1, 10);
  });

  it.each([
    ['03:00', 'other'],
    ['08:00', 'morning'],
    ['12:00', 'midday'],
    ['19:00', 'evening'],
  ] as Array<[string, DayPart]>)('at %s (%s) arrives at the rate times that hour’s busyness', (time, dayPart) => {
    const rate = 500;
    const start = `2026-01-06T${time}:00+00:00`;
    const events = generateEvents({ seed: 'arrivals', rate, simulatedStart: start }, 8_000);
    const created = events.filter((event) => event.eventType === 'order_created').map((event) => JSON.parse(event.text) as { ts: string });
    const seconds = (parseTimestamp(created.at(-1)!.ts) - parseTimestamp(start)) / 1e6;
    const hour = Number(time.slice(0, 2));
    expect(dayPartOf(hour)).toBe(dayPart);
    const expectedOrdersPerSecond = (rate / MEAN_EVENTS_PER_ORDER) * ARRIVAL_PROFILE[hour]!;
    // About 2,100 orders: the Poisson count is within a few percent of its mean.
    expect(created.length / seconds / expectedOrdersPerSecond).toBeGreaterThan(0.9);
    expect(created.length / seconds / expectedOrdersPerSecond).toBeLessThan(1.1);
  });

  it('is busier at midday and in the evening than overnight', () => {
    const ordersPerSimulatedHour = (time: string) => {
      const events = generateEvents({ seed: 'busy', rate: 50, simulatedStart: `2026-01-06T${time}:00+00:00` }, 2_000);
      const last = JSON.parse(events.at(-1)!.text) as { ts: string };
      return events.filter((event) => event.eventType === 'order_created').length / (parseTimestamp(last.ts) - parseTimestamp(`2026-01-06T${time}:00+00:00`));
    };
    const night = ordersPerSimulatedHour('03:00');
    expect(ordersPerSimulatedHour('12:30')).toBeGreaterThan(3 * night);
    expect(ordersPerSimulatedHour('19:00')).toBeGreaterThan(3 * night);
  });
});
