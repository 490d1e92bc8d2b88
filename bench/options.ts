import { z } from 'zod';

/** Every measurement the runner knows, in the order a full run takes them (the slow scaling step last). */
export const MEASUREMENTS = ['generator', 'throughput', 'copy-floor', 'naive', 'latency', 'recovery', 'streams', 'streams.quiet', 'dashboards', 'scaling'] as const;
export type Measurement = (typeof MEASUREMENTS)[number];

/** A quick run leaves out scaling, whose 10-million-row pre-fill alone takes minutes. */
const QUICK_SET: readonly Measurement[] = MEASUREMENTS.filter((name) => name !== 'scaling');

const measurementList = z
  .string()
  .transform((text) => text.split(',').map((name) => name.trim()).filter(Boolean))
  .pipe(z.array(z.enum(MEASUREMENTS, { error: `each name must be one of ${MEASUREMENTS.join(', ')}` })).min(1, { error: 'name at least one measurement' }));

/** The `npm run bench` flags, validated at the edge. */
export const benchFlagsSchema = z.object({
  only: measurementList.optional(),
  quick: z.boolean().default(false),
  seconds: z.coerce.number({ error: 'must be a whole number of seconds ≥ 5' }).int({ error: 'must be a whole number of seconds ≥ 5' }).min(5, { error: 'must be a whole number of seconds ≥ 5' }).max(3_600, { error: 'must be at most 3600 seconds' }).optional(),
  skipScaling: z.boolean().default(false),
  profile: z.boolean().default(false),
  /** Paid orders in the dashboards warehouse (default 2 million, 200,000 with --quick). */
  dashboardOrders: z.coerce.number({ error: 'must be a whole number of orders ≥ 1000' }).int({ error: 'must be a whole number of orders ≥ 1000' }).min(1_000, { error: 'must be a whole number of orders ≥ 1000' }).max(100_000_000, { error: 'must be at most 100000000' }).optional(),
  /** Years of history the dashboards warehouse's orders spread over (default 5). */
  dashboardYears: z.coerce.number({ error: 'must be a number of years from 0.1 to 20' }).min(0.1, { error: 'must be a number of years from 0.1 to 20' }).max(20, { error: 'must be a number of years from 0.1 to 20' }).optional(),
});
export type BenchFlags = z.output<typeof benchFlagsSchema>;

export function selectedMeasurements(flags: Pick<BenchFlags, 'only' | 'quick' | 'skipScaling'>): Measurement[] {
  const wanted = new Set<Measurement>(flags.only ?? (flags.quick ? QUICK_SET : MEASUREMENTS));
  if (flags.skipScaling) wanted.delete('scaling');
  return MEASUREMENTS.filter((name) => wanted.has(name));
}

/** How long each phase runs; everything follows from the sustained-throughput window. */
export interface PhaseDurations {
  /** Seconds the sustained whole-path throughput is counted over, after its warm-up. */
  readonly throughputSeconds: number;
  /** Seconds of ingestion before any window opens: connections, caches, the first sessions. */
  readonly warmUpSeconds: number;
  readonly latencySeconds: number;
  readonly naiveSeconds: number;
  /** Recovery: seconds of ingestion before the SIGKILL, and of source events after it. */
  readonly recoveryBeforeKillSeconds: number;
  readonly recoveryAfterKillSeconds: number;
  readonly scalingSeconds: number;
  /** Events of all streams together in each run of the several-streams measurement. */
  readonly streamsTotalEvents: number;
  /** Many quiet feeds: seconds sampled after the warm-up, and the most the warm-up (every stream's first commit) may take. */
  readonly quietSeconds: number;
  readonly quietWarmUpSeconds: number;
  /** Events of the COPY floor when the throughput phase did not run (else the events it ingested, capped). */
  readonly copyFloorEvents: number;
  readonly generatorSeconds: number;
}

export function phaseDurations(flags: Pick<BenchFlags, 'quick' | 'seconds'>): PhaseDurations {
  const throughputSeconds = flags.seconds ?? (flags.quick ? 10 : 60);
  return {
    throughputSeconds,
    warmUpSeconds: flags.quick ? 3 : 10,
    latencySeconds: Math.max(10, Math.round(throughputSeconds / 2)),
    naiveSeconds: Math.max(3, Math.round(throughputSeconds / 4)),
    recoveryBeforeKillSeconds: flags.quick ? 4 : 10,
    recoveryAfterKillSeconds: flags.quick ? 10 : 20,
    scalingSeconds: Math.max(5, Math.round(throughputSeconds / 2)),
    streamsTotalEvents: flags.quick ? 30_000 : 80_000,
    quietSeconds: flags.quick ? 30 : 120,
    quietWarmUpSeconds: flags.quick ? 60 : 240,
    copyFloorEvents: flags.quick ? 30_000 : 300_000,
    generatorSeconds: flags.quick ? 2 : 5,
  };
}
