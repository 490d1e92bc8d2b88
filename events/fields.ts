import { z } from 'zod';

/** Any RFC 9562 UUID (the old source sends version 4). */
export const uuid = z.uuid();

/** An amount of money in dollars with at most two decimal places. */
export const money = z.number().multipleOf(0.01, 'must have at most 2 decimal places');

/** ISO-8601 with a UTC offset (`+00:00` or `Z`) and any sub-second precision, e.g. `2026-11-24T17:06:17.151013+00:00`. */
export const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 timestamp with a UTC offset' });

/** The contract's locations are `LOC-ON-001` … `LOC-ON-012`; the pattern leaves room for other provinces. */
export const locationCode = z.string().regex(/^LOC-[A-Z]{2}-\d{3}$/, 'must look like LOC-ON-007');
