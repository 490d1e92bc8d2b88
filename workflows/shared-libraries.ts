/**
 * Libraries and contracts every workflow of a worker shares instead of loading its own copy. The
 * bundle preloads this module, and what it loads, once (`preloadModules`, beside the workflows
 * themselves: worker/workflow-bundle.ts); loaded for each workflow the worker holds, zod cost each
 * ~0.7 MB and ~50 ms, the contracts' schemas another ~155 KB and ~8 ms, so a worker holding hundreds
 * of stream workflows carried hundreds of MB of them (the workflow bundle's test fails when a
 * workflow loads any module for itself).
 *
 * The SDK deep-freezes what it preloads. zod settles its defaults (locale, memoizer) when it builds
 * its first schema, so one is built and used here, before the freeze. And zod writes inside a schema
 * as it parses (a regex's lastIndex, fields it derives on first use), so a frozen schema throws: each
 * contract schema is frozen here at its surface only, with the methods workflows call already bound,
 * and the SDK does not descend into an object that is frozen already.
 */
import { z } from 'zod';
import * as ingestionContract from '../contracts/ingestion.js';
import * as reprocessContract from '../contracts/reprocess.js';
import * as sourceCredentialsContract from '../contracts/source-credentials.js';

z.object({ at: z.iso.datetime() }).parse({ at: '2026-01-01T00:00:00Z' });

for (const contract of [ingestionContract, reprocessContract, sourceCredentialsContract]) {
  for (const value of Object.values(contract)) {
    if (!(value instanceof z.ZodType)) continue;
    void value.safeParse;
    void value.parse;
    Object.freeze(value);
  }
}
