import type { StreamPosition } from '../../contracts/ingestion.js';
import type { SseFeed } from '../restaurant-api/sse-feed.js';

interface ParkedFeed {
  feed: SseFeed;
  key: string;
  position: StreamPosition;
  expiry: NodeJS.Timeout;
}

/** A parked connection not taken by a next session on this worker within this long is closed. */
const PARKED_FOR_MS = 30_000;

/**
 * Keeps a stream's SSE connection open across sessions on this worker: a session that ends cleanly
 * parks its feed with the position it committed, and the next session of the stream, if it starts
 * from exactly there, takes it over. The hand-over then costs no reconnect, no `/events` continuity
 * check and no `/health` call; events that arrive meanwhile wait in the feed's bounded queue.
 */
export class FeedKeeper {
  private readonly parked = new Map<string, ParkedFeed>();

  park(stream: string, key: string, position: StreamPosition, feed: SseFeed): void {
    this.discard(stream);
    feed.onBytes = undefined;
    const expiry = setTimeout(() => this.discard(stream), PARKED_FOR_MS);
    this.parked.set(stream, { feed, key, position: { ...position }, expiry });
  }

  /** The parked feed of `stream` if it was left at `position` with the same source and credentials. */
  take(stream: string, key: string, position: StreamPosition): SseFeed | undefined {
    const parked = this.parked.get(stream);
    if (!parked) return undefined;
    this.parked.delete(stream);
    clearTimeout(parked.expiry);
    const same = parked.key === key && parked.position.offset === position.offset && parked.position.epoch === position.epoch && parked.position.lastEventId === position.lastEventId;
    if (same) return parked.feed;
    parked.feed.close();
    return undefined;
  }

  closeAll(): void {
    for (const stream of [...this.parked.keys()]) this.discard(stream);
  }

  private discard(stream: string): void {
    const parked = this.parked.get(stream);
    if (!parked) return;
    this.parked.delete(stream);
    clearTimeout(parked.expiry);
    parked.feed.close();
  }
}
