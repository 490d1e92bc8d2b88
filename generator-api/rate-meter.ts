const WINDOW_SECONDS = 5;

/** Events per second over the last few whole seconds, for /health. */
export class RateMeter {
  private readonly counts = new Array<number>(WINDOW_SECONDS + 1).fill(0);
  private readonly startedSecond = RateMeter.second();
  private currentSecond = this.startedSecond;

  private static second(): number {
    return Math.floor(performance.now() / 1000);
  }

  add(events: number): void {
    this.advance();
    this.counts[this.currentSecond % this.counts.length]! += events;
  }

  perSecond(): number {
    this.advance();
    const seconds = Math.min(WINDOW_SECONDS, this.currentSecond - this.startedSecond);
    if (seconds === 0) return 0;
    let total = 0;
    for (let back = 1; back <= seconds; back++) total += this.counts[(this.currentSecond - back) % this.counts.length]!;
    return Math.round(total / seconds);
  }

  private advance(): void {
    const now = RateMeter.second();
    for (let second = this.currentSecond + 1; second <= Math.min(now, this.currentSecond + this.counts.length); second++) {
      this.counts[second % this.counts.length] = 0;
    }
    this.currentSecond = now;
  }
}
