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
import { columns } from '../activities/warehouse/unnest-columns.js';
import { defineProcessor } from '../activities/processors/processor.js';
import { paymentCaptured } from '../activities/processors/restaurant-facts.js';

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
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::timestamptz[])
         ON CONFLICT (payment_id) DO NOTHING`,
        columns(events, {
          payment: (e) => e.payload.payment_id,
          order: (e) => e.payload.order_id,
          location: (e) => e.payload.location_code,
          points: (e) => Math.floor(e.payload.amount),
          earnedAt: (e) => e.ts,
        }),
      );
    },
  }),
];
