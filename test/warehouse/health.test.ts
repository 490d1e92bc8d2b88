import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NewStreamCheckpoint } from '../../warehouse/schema.js';
import { migratedWarehouse, type MigratedWarehouse } from './support.js';

const REALTIME = 'restaurant_realtime_stream';
const POLLING = 'restaurant_stream_ingest_polling';
const secondsAgo = (seconds: number) => new Date(Date.now() - seconds * 1000);

interface Health {
  status: string;
  checked_at: string;
  checks: Record<string, { status: string } & Record<string, unknown>>;
}

describe('health_check() and ingestion_status', () => {
  let warehouse: MigratedWarehouse;
  beforeAll(async () => {
    warehouse = await migratedWarehouse('health');
  });
  afterAll(async () => warehouse?.close());
  beforeEach(async () => {
    await sql`TRUNCATE raw_data.stream_checkpoints, raw_data.events_rejected, raw_data.source_epochs, staging.pending_children`.execute(
      warehouse.db,
    );
  });

  const checkpoint = (values: Partial<NewStreamCheckpoint> & { stream_name: string }) =>
    warehouse.db
      .insertInto('raw_data.stream_checkpoints')
      .values({ event_offset: 5_000, source_head_offset: 5_000, last_event_ts: secondsAgo(2), last_batch_at: secondsAgo(1), ...values })
      .execute();
  const reject = (stream: string, receivedAt: Date, offset: number) =>
    warehouse.db
      .insertInto('raw_data.events_rejected')
      .values({ stream_name: stream, event_offset: offset, raw: '{"offset":', reason: 'invalid JSON', received_at: receivedAt })
      .execute();
  const health = async (args = sql``) => {
    const { rows } = await sql<{ health: Health }>`SELECT analytics.health_check(${args}) AS health`.execute(warehouse.db);
    return rows[0]!.health;
  };

  it('is critical before anything was ingested', async () => {
    const result = await health();
    expect(result.status).toBe('critical');
    expect(result.checks.freshness).toMatchObject({ status: 'critical', message: 'no event has been ingested yet' });
    expect(result.checks.lag?.status).toBe('unknown');
  });

  it('is healthy while ingestion is current, and reports every check', async () => {
    await checkpoint({ stream_name: REALTIME });
    const result = await health();

    expect(result.status).toBe('healthy');
    expect(Object.keys(result.checks).sort()).toEqual(['connections', 'freshness', 'lag', 'rejected_events', 'staged_children']);
    for (const check of Object.values(result.checks)) expect(check.status).toBe('healthy');
    expect(result.checks.lag).toMatchObject({ lag_events: 0, per_stream: { [REALTIME]: 0 } });
    expect(result.checks.connections?.in_use).toBeGreaterThanOrEqual(1);
    expect(Math.abs(Date.parse(result.checked_at) - Date.now())).toBeLessThan(5_000);
  });

  it('is critical when the newest ingested event is stale, warning when it is getting old', async () => {
    await checkpoint({ stream_name: REALTIME, last_event_ts: secondsAgo(3_600), last_batch_at: secondsAgo(3_590) });
    const stale = await health();
    expect(stale.status).toBe('critical');
    expect(stale.checks.freshness?.status).toBe('critical');
    expect(Number(stale.checks.freshness?.age_seconds)).toBeCloseTo(3_600, -1);
    expect(Number((stale.checks.freshness?.per_stream_age_seconds as Record<string, number>)[REALTIME])).toBeCloseTo(3_600, -1);

    expect((await health(sql`p_stale_critical => interval '2 hours'`)).status).toBe('warning');
    await warehouse.db.updateTable('raw_data.stream_checkpoints').set({ last_event_ts: secondsAgo(180) }).execute();
    expect((await health()).checks.freshness?.status).toBe('warning');
  });

  it('judges lag by the most current stream', async () => {
    await checkpoint({ stream_name: REALTIME, event_offset: 5_000, source_head_offset: 25_000 });
    expect((await health()).checks.lag).toMatchObject({ status: 'critical', lag_events: 20_000 });
    await warehouse.db.updateTable('raw_data.stream_checkpoints').set({ source_head_offset: 10_000 }).execute();
    expect((await health()).checks.lag).toMatchObject({ status: 'warning', lag_events: 5_000 });

    await checkpoint({ stream_name: POLLING, event_offset: 9_990, source_head_offset: 10_000 });
    const result = await health();
    expect(result.checks.lag).toMatchObject({ status: 'healthy', lag_events: 10, per_stream: { [REALTIME]: 5_000, [POLLING]: 10 } });
    expect(result.status).toBe('healthy');
  });

  it('counts rejected events of the last hour only', async () => {
    await checkpoint({ stream_name: REALTIME });
    await reject(REALTIME, secondsAgo(7_200), 1);
    expect((await health()).checks.rejected_events).toMatchObject({ status: 'healthy', last_hour: 0 });

    await reject(REALTIME, secondsAgo(60), 2);
    await reject(REALTIME, secondsAgo(30), 3);
    await reject(POLLING, secondsAgo(10), 3);
    const result = await health();
    expect(result.checks.rejected_events).toMatchObject({ status: 'warning', last_hour: 3, per_stream: { [REALTIME]: 2, [POLLING]: 1 } });
    expect(result.status).toBe('warning');
    expect((await health(sql`p_rejected_critical => 3`)).status).toBe('critical');
  });

  it('warns about children waiting too long for their order, and about connections past the threshold', async () => {
    await checkpoint({ stream_name: REALTIME });
    await warehouse.db
      .insertInto('staging.pending_children')
      .values({
        event_id: randomUUID(),
        order_id: randomUUID(),
        event_type: 'payment_captured',
        stream_name: REALTIME,
        event_offset: 4_990,
        ts: secondsAgo(900),
        payload: '{}',
        staged_at: secondsAgo(900),
      })
      .execute();
    const result = await health();
    expect(result.status).toBe('warning');
    expect(result.checks.staged_children).toMatchObject({ status: 'warning', waiting_longer_than_max_age: 1 });
    expect((await health(sql`p_staged_max_age => interval '1 hour'`)).status).toBe('healthy');

    const crowded = await health(sql`p_staged_max_age => interval '1 hour', p_connections_warning => 0`);
    expect(crowded.checks.connections?.status).toBe('warning');
  });

  it('ingestion_status shows offset, lag in events and seconds, last batch and rejected counts per stream', async () => {
    await checkpoint({
      stream_name: REALTIME,
      event_offset: 1_000,
      source_head_offset: 1_250,
      last_event_ts: secondsAgo(30),
      last_batch_at: secondsAgo(5),
      last_batch_size: 200,
      events_total: 1_000,
    });
    await checkpoint({ stream_name: POLLING, event_offset: 1_250, source_head_offset: 1_250, last_event_ts: secondsAgo(300) });
    await reject(REALTIME, secondsAgo(7_200), 17);
    await reject(REALTIME, secondsAgo(60), 18);
    await reject(REALTIME, secondsAgo(50), 19);
    await warehouse.db
      .insertInto('raw_data.source_epochs')
      .values([
        { stream_name: REALTIME, source_epoch: '1', first_offset: 1 },
        { stream_name: REALTIME, source_epoch: '2', first_offset: 1, previous_epoch: '1', previous_offset: 90_000 },
      ])
      .execute();

    const rows = await warehouse.db.selectFrom('analytics.ingestion_status').selectAll().execute();
    expect(rows.map((row) => row.stream_name)).toEqual([REALTIME, POLLING].sort());
    const realtime = rows.find((row) => row.stream_name === REALTIME)!;
    expect(realtime).toMatchObject({
      event_offset: '1000',
      source_head_offset: '1250',
      lag_events: '250',
      last_batch_size: 200,
      events_total: '1000',
      rejected_last_hour: '2',
      rejected_total: '3',
      source_restarts: '1',
    });
    expect(Number(realtime.lag_seconds)).toBeCloseTo(30, -1);
    expect(Number(realtime.seconds_since_last_batch)).toBeCloseTo(5, -1);
    expect(realtime.last_rejected_at?.getTime()).toBeCloseTo(secondsAgo(50).getTime(), -4);

    // Caught up with the head it knows: no lag, however old its newest event.
    expect(rows.find((row) => row.stream_name === POLLING)).toMatchObject({
      lag_events: '0',
      lag_seconds: '0',
      rejected_total: '0',
      source_restarts: '0',
    });
  });

  it('stream_reading (and ingestion_status) say when each stream was last read and committed, and since when an unread realtime stream waits', async () => {
    await checkpoint({ stream_name: 'read_now', consumer_mode: 'realtime', last_read_at: secondsAgo(1), last_batch_at: secondsAgo(3) });
    await checkpoint({ stream_name: 'starved', consumer_mode: 'realtime', last_read_at: secondsAgo(25), last_batch_at: secondsAgo(26) });
    await checkpoint({ stream_name: 'never_read', consumer_mode: 'realtime', consumer_claimed_at: secondsAgo(40), last_batch_at: null });
    await checkpoint({ stream_name: 'polled', consumer_mode: 'polling', last_read_at: secondsAgo(90) });

    const rows = await warehouse.db.selectFrom('analytics.stream_reading').selectAll().orderBy('stream_name').execute();
    const byName = Object.fromEntries(rows.map((row) => [row.stream_name, row]));
    expect(Number(byName.read_now!.seconds_since_last_read)).toBeCloseTo(1, 0);
    expect(Number(byName.read_now!.seconds_since_last_commit)).toBeCloseTo(3, 0);
    expect(byName.read_now!.waiting_since).toBeNull();
    expect(Number(byName.starved!.seconds_since_last_read)).toBeCloseTo(25, 0);
    expect(byName.starved!.waiting_since).toEqual(byName.starved!.last_read_at);
    // Claimed, never read: it has waited since its claim.
    expect(byName.never_read).toMatchObject({ last_read_at: null, seconds_since_last_read: null, last_committed_at: null });
    expect(byName.never_read!.waiting_since?.getTime()).toBeCloseTo(secondsAgo(40).getTime(), -3);
    // A polling stream is read every poll interval: it does not wait between polls.
    expect(byName.polled!.waiting_since).toBeNull();

    const status = await warehouse.db.selectFrom('analytics.ingestion_status').select(['stream_name', 'waiting_since', 'seconds_since_last_read']).where('stream_name', '=', 'starved').executeTakeFirstOrThrow();
    expect(status.waiting_since).toEqual(byName.starved!.waiting_since);
  });
});
