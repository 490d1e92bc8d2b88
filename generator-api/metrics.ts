export interface MetricSample {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly value: number;
}

/** The Prometheus text exposition format (version 0.0.4) for a handful of unlabelled samples. */
export function renderPrometheus(samples: readonly MetricSample[]): string {
  return samples.map(({ name, type, help, value }) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`).join('');
}
