import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'integrations/**/*.test.ts', 'src/**/*.test.ts', 'adapters/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share the real Postgres and Redis servers; each file uses its own schema / key prefix,
    // so they may run in parallel, but two cores make more than two workers slower, not faster.
    maxWorkers: 2,
    pool: 'forks',
  },
});
