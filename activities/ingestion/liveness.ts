/**
 * Progress-based liveness for a session. The activity heartbeats only when something moved since the
 * last heartbeat — bytes read from the source by whatever the session is waiting on, a batch committed,
 * a bounded statement running — so a session stuck in a read stops heartbeating and Temporal retries it
 * after the heartbeat timeout instead of after start-to-close. Past that timeout without progress the
 * session also gives up itself (`stalled` aborts), freeing its connection and its reads.
 */
export class Liveness {
  private moves = 0;
  private movesAtLastBeat = -1;
  private lastMoveAt = performance.now();
  private statementsRunning = 0;
  bytesRead = 0;
  private readonly stall = new AbortController();
  /** Aborts once nothing moved for the stall timeout. */
  readonly stalled = this.stall.signal;

  constructor(private readonly stallTimeoutMs: number) {}

  moved(bytes = 0): void {
    this.moves += 1;
    this.bytesRead += bytes;
    this.lastMoveAt = performance.now();
  }

  /** Runs a database statement (bounded by statement_timeout): progress while it runs. */
  async whileRunning<T>(work: () => Promise<T>): Promise<T> {
    this.statementsRunning += 1;
    try {
      return await work();
    } finally {
      this.statementsRunning -= 1;
      this.moved();
    }
  }

  /** Called on the heartbeat tick: true when there is progress to report. */
  progressed(): boolean {
    if (this.statementsRunning > 0) this.moved();
    const progressed = this.moves !== this.movesAtLastBeat;
    this.movesAtLastBeat = this.moves;
    if (!progressed && performance.now() - this.lastMoveAt > this.stallTimeoutMs && !this.stall.signal.aborted) {
      this.stall.abort(new Error(`no progress for ${this.stallTimeoutMs} ms: giving the stream up to a retry`));
    }
    return progressed;
  }
}
