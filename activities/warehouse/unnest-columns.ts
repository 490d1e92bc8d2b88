/** One array per column for `unnest`: the hot path sends a whole batch as a handful of parameters. */
export function columns<T, K extends string>(rows: readonly T[], pick: Record<K, (row: T) => unknown>): unknown[][] {
  const getters = Object.values(pick) as Array<(row: T) => unknown>;
  const arrays = getters.map(() => new Array<unknown>(rows.length));
  rows.forEach((row, index) => getters.forEach((get, column) => (arrays[column]![index] = get(row))));
  return arrays;
}
