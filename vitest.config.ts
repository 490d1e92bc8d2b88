import { defineConfig } from 'vitest/config';

/** The slow end-to-end files: whole processes, real ingestion, restarts. `npx vitest run --project unit` leaves them out. */
const END_TO_END = ['test/**/*.e2e.test.ts', 'test/stack/up.test.ts', 'test/bench/**/*.test.ts', 'test/deploy/**/*.test.ts'];

export default defineConfig({
  test: {
    // Temporal's native core bridge crashes inside worker threads: every test file gets its own process.
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
    reporters: ['default'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: END_TO_END, testTimeout: 60_000 } },
      // Every wait inside these (a checkpoint, a restart, the stack coming up) is at most 150 s.
      { extends: true, test: { name: 'e2e', include: END_TO_END, testTimeout: 200_000 } },
    ],
  },
});
