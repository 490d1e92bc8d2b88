/**
 * Libraries every workflow of a worker shares instead of loading its own copy. The bundle preloads
 * this module once (`preloadModules`), while the workflows' own modules are loaded again for each
 * workflow the worker holds: zod alone cost each workflow ~0.7 MB and ~50 ms, so a worker holding
 * hundreds of stream workflows carried hundreds of MB of zod. The SDK deep-freezes what it preloads,
 * and zod settles its defaults (locale, memoizer) when it builds its first schema: one is built and
 * used here, before the freeze, with the parts of zod the contracts use (the workflow bundle's test
 * fails when a workflow loads a zod module of its own).
 */
import { z } from 'zod';

z.object({ at: z.iso.datetime() }).parse({ at: '2026-01-01T00:00:00Z' });
