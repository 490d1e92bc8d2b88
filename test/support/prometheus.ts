const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:[0-9.]+(?:[eE][+-]?[0-9]+)?|NaN|\+Inf|-Inf))(?: -?[0-9]+)?$/;
const COMMENT = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$|^#/;

/** Parses the Prometheus text format strictly: every line a comment or a valid sample. Keys are `name{labels}`. */
export function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || COMMENT.test(line)) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(`${match[1]}${match[2] ?? ''}`, Number(match[3]));
  }
  return samples;
}

/** Sum of the samples of one metric across its label sets, optionally only those whose labels contain `withLabel`. */
export function total(samples: Map<string, number>, name: string, withLabel = ''): number {
  let sum = 0;
  for (const [key, value] of samples) {
    if ((key === name || key.startsWith(`${name}{`)) && key.includes(withLabel)) sum += value;
  }
  return sum;
}
