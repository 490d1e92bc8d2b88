import type {
  EventBody,
  FeedbackSubmittedPayload,
  OrderItemAddedPayload,
  PaymentCapturedPayload,
  PaymentMethod,
  PaymentProvider,
  ServiceType,
} from '../events/index.js';
import { arrivalGap } from './arrivals.js';
import { formatTimestamp, hourOfDay, type Micros } from './clock.js';
import { dayPartOf, Menu } from './menu.js';
import { Random, seedKey, STREAM, weightedTable, type SeedKey } from './random.js';

export const LOCATION_CODES = Array.from({ length: 12 }, (_, i) => `LOC-ON-${String(i + 1).padStart(3, '0')}`);

export const SERVICE_TYPE_WEIGHTS: ReadonlyArray<readonly [ServiceType, number]> = [
  ['dine_in', 62],
  ['takeout', 23],
  ['delivery', 15],
];
export const ITEMS_PER_ORDER_WEIGHTS: ReadonlyArray<readonly [number, number]> = [
  [1, 60],
  [2, 28],
  [3, 9],
  [4, 3],
];
export const QUANTITY_WEIGHTS: ReadonlyArray<readonly [number, number]> = [
  [1, 85],
  [2, 12],
  [3, 3],
];
export const PAYMENT_METHOD_WEIGHTS: ReadonlyArray<readonly [PaymentMethod, number]> = [
  ['credit_card', 52],
  ['debit', 18],
  ['cash', 14],
  ['digital_wallet', 12],
  ['gift_card', 4],
];
export const PROVIDER_WEIGHTS: Readonly<Record<PaymentMethod, ReadonlyArray<readonly [PaymentProvider | null, number]>>> = {
  credit_card: [
    ['VISA', 48],
    ['Mastercard', 42],
    ['Amex', 10],
  ],
  debit: [['Interac', 1]],
  cash: [[null, 1]],
  digital_wallet: [
    ['Apple Pay', 65],
    ['Google Pay', 35],
  ],
  gift_card: [['Gift Card', 1]],
};
export const TAKEOUT_TIP_WEIGHTS: ReadonlyArray<readonly [number, number]> = [
  [0, 70],
  [0.06, 20],
  [0.1, 10],
];
export const TIP_RANGES: Readonly<Record<'dine_in' | 'delivery', readonly [number, number]>> = {
  dine_in: [0.12, 0.24],
  delivery: [0.08, 0.2],
};
export const RATING_WEIGHTS: ReadonlyArray<readonly [number, number]> = [
  [1, 4],
  [2, 6],
  [3, 20],
  [4, 36],
  [5, 34],
];
/** The NPS answers consistent with each star rating. */
export const NPS_RANGES: Readonly<Record<number, readonly [number, number]>> = {
  1: [0, 6],
  2: [0, 6],
  3: [4, 8],
  4: [7, 10],
  5: [8, 10],
};
export const TAX_RATE = 0.13;
export const FEEDBACK_SHARE = 0.25;
/** Guests who rate an order leave a comment this often. */
export const COMMENT_SHARE = 0.6;
const COMMENTS: Readonly<Record<number, readonly string[]>> = {
  1: ['Order was wrong and cold.', 'Waited far too long.', 'Will not be back.'],
  2: ['Food was lukewarm.', 'Service was slow tonight.', 'Portion smaller than expected.'],
  3: ['It was fine.', 'Decent, nothing special.', 'Good food, slow service.'],
  4: ['Tasty and quick.', 'Friendly staff.', 'Would order again.'],
  5: ['Excellent, as always!', 'Best meal this week.', 'Great service and great food.'],
};

const mean = (weights: ReadonlyArray<readonly [number, number]>) =>
  weights.reduce((sum, [value, weight]) => sum + value * weight, 0) / weights.reduce((sum, [, weight]) => sum + weight, 0);

/** order_created + items + payment_captured + sometimes feedback_submitted: 3.8 on average. */
export const MEAN_EVENTS_PER_ORDER = 2 + mean(ITEMS_PER_ORDER_WEIGHTS) + FEEDBACK_SHARE;

const serviceTypes = weightedTable(SERVICE_TYPE_WEIGHTS);
const itemsPerOrder = weightedTable(ITEMS_PER_ORDER_WEIGHTS);
const quantities = weightedTable(QUANTITY_WEIGHTS);
const paymentMethods = weightedTable(PAYMENT_METHOD_WEIGHTS);
const providers = Object.fromEntries(
  Object.entries(PROVIDER_WEIGHTS).map(([method, weights]) => [method, weightedTable(weights)]),
) as Record<PaymentMethod, ReturnType<typeof weightedTable<PaymentProvider | null>>>;
const takeoutTips = weightedTable(TAKEOUT_TIP_WEIGHTS);
const ratings = weightedTable(RATING_WEIGHTS);

/** Everything a seed fixes before the first order: its random streams and the chain's menu. */
export interface World {
  readonly key: SeedKey;
  readonly menu: Menu;
}

export function createWorld(seed: string): World {
  const key = seedKey(seed);
  return { key, menu: new Menu(key) };
}

/** One event of an order, at its simulated time. */
export interface SimulatedEvent {
  readonly eventId: string;
  readonly at: Micros;
  readonly body: EventBody;
}

export interface SimulatedOrder {
  readonly index: number;
  readonly locationCode: string;
  readonly orderAt: Micros;
  /** When the next order arrives; this order's events are spread evenly until then. */
  readonly nextOrderAt: Micros;
  /** In the contract's stream order: order_created, items, payment_captured, feedback_submitted. */
  readonly events: readonly SimulatedEvent[];
}

const dollars = (cents: number) => cents / 100;

function tipRate(random: Random, serviceType: ServiceType): number {
  if (serviceType === 'takeout') return random.weighted(takeoutTips);
  const [low, high] = TIP_RANGES[serviceType];
  return random.between(low, high);
}

/**
 * Order number `index` of a seed, arriving at `orderAt`. Its randomness comes from its own stream
 * (seed, index), so the same arguments always give the same order, ids included.
 */
export function simulateOrder(world: World, index: number, orderAt: Micros, ordersPerSecond: number): SimulatedOrder {
  const random = Random.stream(world.key, STREAM.order, index);
  const gap = arrivalGap(random, orderAt, ordersPerSecond);
  const locationCode = random.pick(LOCATION_CODES);
  const serviceType = random.weighted(serviceTypes);
  const orderId = random.uuid();
  const dayPart = dayPartOf(hourOfDay(orderAt));

  let subtotalCents = 0;
  const items: OrderItemAddedPayload[] = Array.from({ length: random.weighted(itemsPerOrder) }, () => {
    const item = world.menu.choose(random, dayPart);
    const qty = random.weighted(quantities);
    subtotalCents += item.unitPriceCents * qty;
    return {
      order_item_id: random.uuid(),
      order_id: orderId,
      menu_item_id: item.menuItemId,
      category: item.category,
      item_name: item.name,
      unit_price: dollars(item.unitPriceCents),
      qty,
      extended_price: dollars(item.unitPriceCents * qty),
    };
  });

  const taxCents = Math.round(subtotalCents * TAX_RATE);
  const tipCents = Math.round(subtotalCents * tipRate(random, serviceType));
  const totalCents = subtotalCents + taxCents + tipCents;
  const method = random.weighted(paymentMethods);
  const payment: PaymentCapturedPayload = {
    payment_id: random.uuid(),
    order_id: orderId,
    method,
    provider: random.weighted(providers[method]),
    amount: dollars(totalCents),
    auth_code: method === 'cash' || method === 'gift_card' ? null : random.hex(6),
    subtotal: dollars(subtotalCents),
    tax: dollars(taxCents),
    tip: dollars(tipCents),
    total: dollars(totalCents),
    location_code: locationCode,
  };

  const eventCount = items.length + (random.chance(FEEDBACK_SHARE) ? 3 : 2);
  const atOf = (position: number) => orderAt + Math.floor((position * gap) / eventCount);
  const bodies: EventBody[] = [
    {
      event_type: 'order_created',
      payload: {
        order_id: orderId,
        visit_id: random.uuid(),
        service_type: serviceType,
        order_ts: formatTimestamp(orderAt),
        location_code: locationCode,
      },
    },
    ...items.map((payload): EventBody => ({ event_type: 'order_item_added', payload })),
    { event_type: 'payment_captured', payload: payment },
  ];
  if (eventCount > bodies.length) {
    const rating = random.weighted(ratings);
    const [npsLow, npsHigh] = NPS_RANGES[rating] as readonly [number, number];
    const feedback: FeedbackSubmittedPayload = {
      feedback_id: random.uuid(),
      order_id: orderId,
      customer_id: random.uuid(),
      rating,
      nps: random.int(npsLow, npsHigh),
      comment: random.chance(COMMENT_SHARE) ? random.pick(COMMENTS[rating] as readonly string[]) : null,
      // Submitted as the guest leaves: never after the event that reports it.
      created_ts: formatTimestamp(atOf(eventCount - 1)),
    };
    bodies.push({ event_type: 'feedback_submitted', payload: feedback });
  }

  return {
    index,
    locationCode,
    orderAt,
    nextOrderAt: orderAt + gap,
    events: bodies.map((body, position) => ({ eventId: random.uuid(), at: atOf(position), body })),
  };
}
