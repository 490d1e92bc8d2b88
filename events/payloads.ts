import { z } from 'zod';
import { locationCode, money, timestamp, uuid } from './fields.js';

export const SERVICE_TYPES = ['dine_in', 'takeout', 'delivery'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const MENU_CATEGORIES = [
  'coffee',
  'breakfast',
  'appetizer',
  'salad',
  'sandwich',
  'burger',
  'pizza',
  'pasta',
  'entree',
  'dessert',
  'kids',
  'beverage',
  'alcohol',
] as const;
export type MenuCategory = (typeof MENU_CATEGORIES)[number];

export const PAYMENT_METHODS = ['credit_card', 'debit', 'cash', 'digital_wallet', 'gift_card'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export const PAYMENT_PROVIDERS = ['VISA', 'Mastercard', 'Amex', 'Interac', 'Apple Pay', 'Google Pay', 'Gift Card'] as const;
export type PaymentProvider = (typeof PAYMENT_PROVIDERS)[number];

export const orderCreatedPayload = z.object({
  order_id: uuid,
  visit_id: uuid,
  service_type: z.enum(SERVICE_TYPES),
  order_ts: timestamp,
  location_code: locationCode,
});

export const orderItemAddedPayload = z.object({
  order_item_id: uuid,
  order_id: uuid,
  menu_item_id: uuid,
  category: z.enum(MENU_CATEGORIES),
  item_name: z.string().min(1),
  unit_price: money.positive(),
  qty: z.int().positive(),
  extended_price: money.nonnegative(),
});

export const paymentCapturedPayload = z.object({
  payment_id: uuid,
  order_id: uuid,
  method: z.enum(PAYMENT_METHODS),
  provider: z.enum(PAYMENT_PROVIDERS).nullable(),
  amount: money.positive(),
  auth_code: z
    .string()
    .regex(/^[0-9A-F]{6}$/, 'must be 6 upper-case hex characters')
    .nullable(),
  subtotal: money.nonnegative(),
  tax: money.nonnegative(),
  tip: money.nonnegative(),
  total: money.positive(),
  location_code: locationCode,
});

/** Whether `nps` fits `rating` is a data-quality question, not a schema rule: both are only range-checked here. */
export const feedbackSubmittedPayload = z.object({
  feedback_id: uuid,
  order_id: uuid,
  customer_id: uuid,
  rating: z.int().min(1).max(5),
  nps: z.int().min(0).max(10),
  comment: z.string().nullable(),
  created_ts: timestamp,
});

export type OrderCreatedPayload = z.infer<typeof orderCreatedPayload>;
export type OrderItemAddedPayload = z.infer<typeof orderItemAddedPayload>;
export type PaymentCapturedPayload = z.infer<typeof paymentCapturedPayload>;
export type FeedbackSubmittedPayload = z.infer<typeof feedbackSubmittedPayload>;
