import { sql, type Kysely } from 'kysely';

/*
 * Secondary indexes, measured by the index-cost study (numbers in warehouse/README.md): the child
 * tables index order_id, which the foreign keys' ON DELETE actions, the staging hand-over and
 * calculate_order_metrics() look up (200 lookups: 1.6 s without, 0.07 s with); orders gets a BRIN on
 * order_ts for Metabase questions filtered on a date range, about free to maintain because orders
 * arrive in time order. The old btrees on location_code, service_type, total and the children's
 * category, menu_item_id, method, provider, processed_at, rating, nps and created_ts added up to 50%
 * more CPU and 89% more WAL per ingested event, and no view or function reads through them.
 *
 * orders' money columns have no CHECK: a negative amount from the source is reported by
 * analytics.validate_data_consistency() instead of failing the whole ingest batch.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE analytics.orders (
      order_id      uuid          PRIMARY KEY,
      visit_id      uuid,
      service_type  text          NOT NULL CHECK (service_type IN ('dine_in', 'takeout', 'delivery')),
      order_ts      timestamptz   NOT NULL,
      location_code text          NOT NULL,
      subtotal      numeric(12,2),
      tax           numeric(12,2),
      tip           numeric(12,2),
      total         numeric(12,2),
      created_at    timestamptz   NOT NULL DEFAULT now(),
      updated_at    timestamptz   NOT NULL DEFAULT now()
    );
    CREATE INDEX orders_order_ts_brin ON analytics.orders USING brin (order_ts) WITH (autosummarize = on);
    COMMENT ON TABLE analytics.orders IS 'Restaurant orders; subtotal, tax, tip and total stay null until payment_captured fills them';

    CREATE TABLE analytics.order_items (
      order_item_id  uuid          PRIMARY KEY,
      order_id       uuid          NOT NULL REFERENCES analytics.orders (order_id) ON DELETE CASCADE,
      menu_item_id   uuid,
      category       text          NOT NULL,
      item_name      text          NOT NULL,
      unit_price     numeric(12,2) NOT NULL CHECK (unit_price > 0),
      qty            integer       NOT NULL CHECK (qty > 0),
      extended_price numeric(12,2) NOT NULL CHECK (extended_price >= 0),
      created_at     timestamptz   NOT NULL DEFAULT now()
    );
    CREATE INDEX order_items_order_id ON analytics.order_items (order_id);
    COMMENT ON TABLE analytics.order_items IS 'Individual items within orders';

    CREATE TABLE analytics.payments (
      payment_id   uuid          PRIMARY KEY,
      order_id     uuid          NOT NULL REFERENCES analytics.orders (order_id) ON DELETE CASCADE,
      method       text          NOT NULL,
      provider     text,
      amount       numeric(12,2) NOT NULL CHECK (amount > 0),
      auth_code    text,
      processed_at timestamptz   NOT NULL DEFAULT now()
    );
    CREATE INDEX payments_order_id ON analytics.payments (order_id);
    COMMENT ON TABLE analytics.payments IS 'Payment transactions for orders';

    CREATE TABLE analytics.feedback (
      feedback_id  uuid        PRIMARY KEY,
      order_id     uuid        REFERENCES analytics.orders (order_id) ON DELETE SET NULL,
      customer_id  uuid,
      rating       integer     CHECK (rating BETWEEN 1 AND 5),
      nps          integer     CHECK (nps BETWEEN 0 AND 10),
      comment      text,
      created_ts   timestamptz NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX feedback_order_id ON analytics.feedback (order_id);
    COMMENT ON TABLE analytics.feedback IS 'Customer feedback and satisfaction scores';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TABLE analytics.feedback;
    DROP TABLE analytics.payments;
    DROP TABLE analytics.order_items;
    DROP TABLE analytics.orders;
  `.execute(db);
}
