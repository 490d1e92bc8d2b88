import type pg from 'pg';

/** Where warehouse work gets a connection: one for the length of one piece of work (a transaction). */
export interface Connections {
  /** How many pieces of work may hold a connection at once. */
  readonly limit: number;
  /** Runs `work` on a connection of its own; `signal` gives up waiting for one (never work already started). */
  lend<T>(work: (client: pg.ClientBase) => Promise<T>, signal?: AbortSignal): Promise<T>;
}

/**
 * Lends a pool's connections one piece of work at a time, at most `limit` at once, in the order they
 * were asked for. Ingestion sessions hold no connection between batches, so a worker's connections
 * do not grow with its streams: a session whose batch waits for a turn keeps its events (its feed's
 * bounded queue holds the source back meanwhile) and loses none. The pool itself may be larger: what
 * is above `limit` stays for the short activities and the abandoned-session watch.
 */
export class ConnectionLender implements Connections {
  private lent = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly pool: pg.Pool,
    readonly limit: number,
  ) {}

  async lend<T>(work: (client: pg.ClientBase) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.turn(signal);
    try {
      const client = await this.pool.connect();
      // A connection the server drops (PostgreSQL restarting) emits 'error' besides failing its query:
      // without a listener that would take the worker down. The failed query reports it.
      const ignore = () => undefined;
      client.on('error', ignore);
      let failure: Error | undefined;
      try {
        return await work(client);
      } catch (error) {
        // A connection that saw an error is not trusted back into the pool.
        failure = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.off('error', ignore);
        client.release(failure);
      }
    } finally {
      this.handOn();
    }
  }

  private turn(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.lent < this.limit) {
      this.lent += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', giveUp);
        resolve();
      };
      const giveUp = () => {
        this.waiting.splice(this.waiting.indexOf(grant), 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error('gave up waiting for a warehouse connection'));
      };
      this.waiting.push(grant);
      signal?.addEventListener('abort', giveUp, { once: true });
    });
  }

  /** The turn passes to the longest waiting, or the connection is free again. */
  private handOn(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.lent -= 1;
  }
}

/** Every piece of work on one connection the caller holds (a measurement on one session, two competing sessions in a test). */
export function onConnection(client: pg.ClientBase): Connections {
  return { limit: 1, lend: (work) => work(client) };
}
