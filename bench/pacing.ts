import { ARRIVAL_PROFILE } from '../generator-api/arrivals.js';

/** The simulated day starts at 10:00 UTC; a bounded phase stays within that hour of simulated time. */
const SIMULATED_START = '2026-01-05T10:00:00.000000+00:00';

/**
 * Source options that deliver about `eventsPerSecond`: the API's `--rate` is the mean of a day whose
 * hours are busier or quieter (generator-api/arrivals.ts), so the rate is scaled by the hour's profile.
 */
export function steadyRate(eventsPerSecond: number): { rate: number; simulatedStart: string } {
  const hour = new Date(SIMULATED_START).getUTCHours();
  return { rate: eventsPerSecond / (ARRIVAL_PROFILE[hour] ?? 1), simulatedStart: SIMULATED_START };
}
