import { defineConfig } from 'vitest/config';

// test/gpu shares one device: run it in a single worker so timings and memory checks don't interfere.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'gpu', include: ['test/gpu/**/*.test.ts'], maxWorkers: 1, fileParallelism: false },
      },
    ],
  },
});
