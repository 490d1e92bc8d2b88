export interface MetricSample {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly value: number;
  /** e.g. `{ feed: 'feed-007' }` when one process serves many feeds. */
  readonly labels?: Readonly<Record<string, string>>;
}

const labelText = (labels: Readonly<Record<string, string>> | undefined) =>
  labels ? `{${Object.entries(labels).map(([name, value]) => `${name}="${value.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}` : '';

/** The Prometheus text exposition format (version 0.0.4): each metric's HELP and TYPE once, then its samples. */
export function renderPrometheus(samples: readonly MetricSample[]): string {
  const byName = new Map<string, MetricSample[]>();
  for (const sample of samples) {
    const group = byName.get(sample.name);
    if (group) group.push(sample);
    else byName.set(sample.name, [sample]);
  }
  let text = '';
  for (const [name, group] of byName) {
    text += `# HELP ${name} ${group[0]!.help}\n# TYPE ${name} ${group[0]!.type}\n`;
    for (const { labels, value } of group) text += `${name}${labelText(labels)} ${value}\n`;
  }
  return text;
}
