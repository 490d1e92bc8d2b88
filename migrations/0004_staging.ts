import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE staging.pending_children (
      event_id     uuid        PRIMARY KEY,
      order_id     uuid        NOT NULL,
      event_type   text        NOT NULL CHECK (event_type IN ('order_item_added', 'payment_captured', 'feedback_submitted')),
      stream_name  text        NOT NULL,
      source_epoch text        NOT NULL DEFAULT '1',
      event_offset bigint      NOT NULL,
      ts           timestamptz NOT NULL,
      payload      jsonb       NOT NULL,
      staged_at    timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX pending_children_order_id ON staging.pending_children (order_id);
    COMMENT ON TABLE staging.pending_children IS 'Items, payments and feedback that arrived before their order; applied and deleted when the order lands';
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE staging.pending_children`.execute(db);
}
