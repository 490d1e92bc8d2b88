import type { StreamPosition } from '../../contracts/ingestion.js';
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

/** Everything one transaction writes: raw events, the applicable ones, rejections, and the checkpoint. */
export class Batch {
  /** Well-formed envelopes: the audit trail (events_raw). */
  readonly raw: AcceptedEvent[] = [];
  /** The subset to apply to the facts. */
  readonly applicable: AcceptedEvent[] = [];
  readonly rejections: Rejection[] = [];
  readonly restarts: SourceRestart[] = [];
  private readonly ids = new Set<string>();

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

  addEvent(event: AcceptedEvent, problem: string | null): void {
    this.raw.push(event);
    this.ids.add(event.eventId);
    if (problem === null) this.applicable.push(event);
    else this.rejections.push({ epoch: event.epoch, offset: event.offset, eventId: event.eventId, raw: JSON.stringify(event), reason: problem });
  }

  reject(rejection: Rejection): void {
    this.rejections.push(rejection);
  }

  /** `ts` of the batch's last event in stream order: the newest the batch brings, for lag. */
  lastEventTs(): string | null {
    return this.raw.at(-1)?.ts ?? null;
  }

  countByType(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const event of this.raw) counts[event.eventType] = (counts[event.eventType] ?? 0) + 1;
    return counts;
  }
}
