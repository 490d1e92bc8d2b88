import { hourOfDay, MICROS_PER_SECOND, type Micros } from './clock.js';
import type { Random } from './random.js';

/** Relative busyness by UTC hour: quiet overnight, a lunch peak and a larger dinner peak. */
const HOURLY_BUSYNESS = [
  0.4, 0.3, 0.3, 0.3, 0.3, 0.4, // 00–05
  0.6, 0.8, 0.9, 0.9, 1.0, // 06–10
  1.5, 1.7, 1.6, 1.3, // 11–14
  0.9, 0.9, // 15–16
  1.4, 1.7, 1.8, 1.6, 1.3, 0.9, // 17–22
  0.6, // 23
];

const meanBusyness = HOURLY_BUSYNESS.reduce((sum, value) => sum + value, 0) / HOURLY_BUSYNESS.length;

/** Arrival intensity by UTC hour relative to the day's mean (mean 1): `--rate` is the daily average. */
export const ARRIVAL_PROFILE: readonly number[] = HOURLY_BUSYNESS.map((value) => value / meanBusyness);

/** The time until the next order of a Poisson process whose intensity follows the time of day. */
export function arrivalGap(random: Random, at: Micros, ordersPerSecond: number): Micros {
  const intensity = ordersPerSecond * (ARRIVAL_PROFILE[hourOfDay(at)] as number);
  return Math.max(1, Math.round((-Math.log(1 - random.next()) / intensity) * MICROS_PER_SECOND));
}
