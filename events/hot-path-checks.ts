import { z } from 'zod';
import { type Envelope } from './envelope.js';
import { locationCode, timestamp, uuid } from './fields.js';
import {
  feedbackSubmittedPayload,
  MENU_CATEGORIES,
  orderCreatedPayload,
  orderItemAddedPayload,
  PAYMENT_METHODS,
  PAYMENT_PROVIDERS,
  paymentCapturedPayload,
  SERVICE_TYPES,
} from './payloads.js';

/*
 * The ingestion hot path's validation, written out by hand: zod's parsing was a tenth of the worker's
 * thread, most of it building a validated copy of objects that are already what the schema says.
 * Each check answers true only when the zod schema would accept the value and return it unchanged
 * (no unknown keys to strip); anything else goes to zod, which decides and explains.
 * test/ingestion/hot-path-checks.test.ts holds each check to its schema.
 */

type Check = (value: unknown) => boolean;

// The patterns come from the schemas themselves, so a check cannot drift from its schema's format.
function patternOf(def: { pattern?: RegExp | undefined; checks?: readonly { _zod: { def: unknown } }[] | undefined }): RegExp {
  const pattern = def.pattern ?? (def.checks?.[0]?._zod.def as { pattern?: RegExp } | undefined)?.pattern;
  if (!pattern) throw new Error('a hot-path check needs its schema’s pattern');
  return pattern;
}
const UUID = patternOf(uuid.def);
const TIMESTAMP = patternOf(timestamp.def);
const LOCATION = patternOf(locationCode.def);
const AUTH_CODE = /^[0-9A-F]{6}$/;

const isUuid: Check = (value) => typeof value === 'string' && UUID.test(value);
const isTimestamp: Check = (value) => typeof value === 'string' && TIMESTAMP.test(value);
const isLocation: Check = (value) => typeof value === 'string' && LOCATION.test(value);
const isText: Check = (value) => typeof value === 'string' && value.length > 0;
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
/** `money`: a finite number with at most two decimal places, judged by zod's own remainder. */
const isMoney = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && z.util.floatSafeRemainder(value, 0.01) === 0;
const oneOf = (values: readonly string[]): Check => {
  const allowed = new Set(values);
  return (value) => typeof value === 'string' && allowed.has(value);
};
const orNull =
  (check: Check): Check =>
  (value) =>
    value === null || check(value);

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;

/** An object with exactly these keys, each passing its check. */
function exactObject(fields: Record<string, Check>): Check {
  const entries = Object.entries(fields);
  return (value) => {
    if (!isPlainObject(value)) return false;
    let keys = 0;
    for (const key in value) if (Object.hasOwn(value, key)) keys += 1;
    if (keys !== entries.length) return false;
    for (const [key, check] of entries) if (!check(value[key])) return false;
    return true;
  };
}

const isServiceType = oneOf(SERVICE_TYPES);
const isCategory = oneOf(MENU_CATEGORIES);
const isMethod = oneOf(PAYMENT_METHODS);
const isProvider = orNull(oneOf(PAYMENT_PROVIDERS));

const PAYLOAD_CHECKS = new Map<z.ZodType, Check>([
  [
    orderCreatedPayload,
    exactObject({ order_id: isUuid, visit_id: isUuid, service_type: isServiceType, order_ts: isTimestamp, location_code: isLocation }),
  ],
  [
    orderItemAddedPayload,
    exactObject({
      order_item_id: isUuid,
      order_id: isUuid,
      menu_item_id: isUuid,
      category: isCategory,
      item_name: isText,
      unit_price: (value) => isMoney(value) && value > 0,
      qty: (value) => isInt(value) && value > 0,
      extended_price: (value) => isMoney(value) && value >= 0,
    }),
  ],
  [
    paymentCapturedPayload,
    exactObject({
      payment_id: isUuid,
      order_id: isUuid,
      method: isMethod,
      provider: isProvider,
      amount: (value) => isMoney(value) && value > 0,
      auth_code: orNull((value) => typeof value === 'string' && AUTH_CODE.test(value)),
      subtotal: (value) => isMoney(value) && value >= 0,
      tax: (value) => isMoney(value) && value >= 0,
      tip: (value) => isMoney(value) && value >= 0,
      total: (value) => isMoney(value) && value > 0,
      location_code: isLocation,
    }),
  ],
  [
    feedbackSubmittedPayload,
    exactObject({
      feedback_id: isUuid,
      order_id: isUuid,
      customer_id: isUuid,
      rating: (value) => isInt(value) && value >= 1 && value <= 5,
      nps: (value) => isInt(value) && value >= 0 && value <= 10,
      comment: orNull((value) => typeof value === 'string'),
      created_ts: isTimestamp,
    }),
  ],
]);

/** The precompiled check of a payload schema, if it has one (the built-in types do; a plugin's schema does not). */
export function payloadCheckOf(schema: z.ZodType): Check | undefined {
  return PAYLOAD_CHECKS.get(schema);
}

/** True when `envelopeSchema` would accept the value; its fields can then be read as they are. */
export function isEnvelope(value: unknown): value is Envelope {
  if (!isPlainObject(value)) return false;
  const { offset, event_id: eventId, event_type: eventType, ts, partition_key: partitionKey, payload } = value;
  return isInt(offset) && offset >= 1 && isUuid(eventId) && isText(eventType) && isTimestamp(ts) && isText(partitionKey) && isPlainObject(payload);
}
