import { sql, type Kysely } from 'kysely';

/** Staging admits any child event type, so the events of a plugin processor can wait for their order too. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE staging.pending_children DROP CONSTRAINT pending_children_event_type_check`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE staging.pending_children ADD CONSTRAINT pending_children_event_type_check
      CHECK (event_type IN ('order_item_added', 'payment_captured', 'feedback_submitted')) NOT VALID
  `.execute(db);
}
