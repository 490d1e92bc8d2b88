/**
 * Calls `stop` once when this process is asked to stop: SIGINT, SIGTERM, or — when `restaurant-stack up`
 * supervises it — its stdin pipe closing because the supervisor died.
 */
export function onStopRequest(stop: (reason: string) => void): void {
  let requested = false;
  const request = (reason: string) => {
    if (requested) return;
    requested = true;
    // The lifeline has done its job; left open it would keep the process alive after it has stopped.
    if (process.env.RESTAURANT_STACK_SUPERVISED) process.stdin.destroy();
    stop(reason);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => request(signal));
  if (process.env.RESTAURANT_STACK_SUPERVISED) {
    process.stdin.on('close', () => request('supervisor gone'));
    process.stdin.resume();
  }
}
