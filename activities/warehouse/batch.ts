import type { StreamPosition } from '../../contracts/ingestion.js';
import type { Envelope } from '../../events/envelope.js';
import type { AcceptedEvent } from '../../processors/processor.js';

export interface Rejection {
  epoch: number;
  offset: number | null;
  eventId: string | null;
  raw: string;
  reason: string;
  /** Size of an event too large to ingest (`raw` then holds only its first bytes). */
  bytes?: number;
}

export interface SourceRestart {
  previous: StreamPosition;
  epoch: number;
  reason: string;
}

/**
 * A well-formed event as a batch holds it until written. Most keep only their envelope's JSON text as
 * received: events_raw stores it as is, and the writer parses the facts' events from it when it writes.
 * Held as parsed objects, events outlived the young generation (they wait a batch time or two) and
 * were promoted by the kilobyte; one string each costs a fraction of that.
 */
export type HeldEvent = { readonly offset: number; readonly epoch: number; readonly eventId: string; readonly eventType: string } & (
  | { readonly received: string; readonly event?: undefined }
  /** Validation changed it (zod's output), or it came parsed (an `/events` page): kept as validated. */
  | { readonly received?: undefined; readonly event: AcceptedEvent }
);

/** The event the processors get: parsed again from its received text, or as validated. */
export function acceptedEventOf(held: HeldEvent): AcceptedEvent {
  if (held.event) return held.event;
  const { ts, partition_key: partitionKey, payload } = JSON.parse(held.received) as Envelope;
  return { offset: held.offset, epoch: held.epoch, eventId: held.eventId, eventType: held.eventType, ts, partitionKey, payload };
}

/**
 * An event's record for events_raw: its envelope's fields, with the offset it was accepted at, its
 * epoch and its stream as the last keys (jsonb keeps the last of duplicate keys, so a source's own
 * cannot override them). The received text goes through as it came, not parsed and serialised again.
 */
export function rawRecordOf(held: HeldEvent, stream: string): string {
  const placed = `"offset":${held.offset},"epoch":${held.epoch},"stream_name":${JSON.stringify(stream)}}`;
  if (held.received === undefined) {
    const { eventId, eventType, ts, partitionKey, payload } = held.event;
    return `${JSON.stringify({ event_id: eventId, event_type: eventType, ts, partition_key: partitionKey, payload }).slice(0, -1)},${placed}`;
  }
  // A valid envelope is a non-empty object: its last `}` closes it, only whitespace may follow.
  return `${held.received.slice(0, held.received.lastIndexOf('}'))},${placed}`;
}

/** Everything one transaction writes: raw events, the applicable ones, rejections, and the checkpoint. */
export class Batch {
  /** Well-formed envelopes: the audit trail (events_raw). */
  readonly raw: HeldEvent[] = [];
  /** The subset to apply to the facts. */
  readonly applicable: HeldEvent[] = [];
  readonly rejections: Rejection[] = [];
  readonly restarts: SourceRestart[] = [];
  private readonly ids = new Set<string>();
  private lastTs: string | null = null;

  /** Events and rejections: what counts against the batch size bound. */
  get size(): number {
    return this.raw.length + this.rejections.length;
  }

  get isEmpty(): boolean {
    return this.size === 0 && this.restarts.length === 0;
  }

  has(eventId: string): boolean {
    return this.ids.has(eventId);
  }

  /** `received`: the event's envelope as it arrived, when `event` is what it says (see HeldEvent). */
  addEvent(event: AcceptedEvent, problem: string | null, received?: string): void {
    const { offset, epoch, eventId, eventType } = event;
    const held: HeldEvent = received === undefined ? { offset, epoch, eventId, eventType, event } : { offset, epoch, eventId, eventType, received };
    this.raw.push(held);
    this.ids.add(eventId);
    this.lastTs = event.ts;
    if (problem === null) this.applicable.push(held);
    else this.rejections.push({ epoch, offset, eventId, raw: JSON.stringify(event), reason: problem });
  }

  reject(rejection: Rejection): void {
    this.rejections.push(rejection);
  }

  /** `ts` of the batch's last event in stream order: the newest the batch brings, for lag. */
  lastEventTs(): string | null {
    return this.lastTs;
  }

  countByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const event of this.raw) counts[event.eventType] = (counts[event.eventType] ?? 0) + 1;
    return counts;
  }
}
