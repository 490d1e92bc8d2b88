/**
 * An example event-processor plugin: every captured payment also earns loyalty points for its
 * location's guests (one point per whole dollar of the total). It replaces the built-in
 * `payment_captured` processor with one that does what the built-in does and more.
 *
 *   EVENT_PROCESSORS_MODULE=plugins/loyalty-points.ts npm start
 *
 * `restaurant-stack migrate` (and `up`) run `warehouseSetupSql` as the migrating role, so the worker's
 * ETL role, which may not change the schema, finds the table there.
 */
import { defineProcessor, payloadRecords } from '../processors/processor.js';
import { paymentCaptured } from '../processors/restaurant-facts.js';

export const warehouseSetupSql = `
  CREATE TABLE IF NOT EXISTS analytics.loyalty_points (
    payment_id    uuid PRIMARY KEY,
    order_id      uuid NOT NULL,
    location_code text NOT NULL,
    points        integer NOT NULL CHECK (points >= 0),
    earned_at     timestamptz NOT NULL
  );
  COMMENT ON TABLE analytics.loyalty_points IS 'Loyalty points earned per payment (plugin: plugins/loyalty-points.ts)';
`;

export const processors = [
  defineProcessor({
    ...paymentCaptured,
    async apply(sql, events) {
      await paymentCaptured.apply(sql, events);
      await sql.query(
        `INSERT INTO analytics.loyalty_points (payment_id, order_id, location_code, points, earned_at)
         SELECT p.payment_id, p.order_id, p.location_code, floor(p.amount), p.event_ts
         FROM jsonb_to_recordset($1::jsonb) AS p(payment_id uuid, order_id uuid, location_code text, amount numeric, event_ts timestamptz)
         ON CONFLICT (payment_id) DO NOTHING`,
        [payloadRecords(events)],
      );
    },
  }),
];
