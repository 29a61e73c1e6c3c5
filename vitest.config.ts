import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import tsconfig from './tsconfig.json' with { type: 'json' };

// Tests and examples import `botwire/<subpath>` exactly as users do; resolve those to the sources.
const paths = tsconfig.compilerOptions.paths as Record<string, string[]>;
const alias = Object.entries(paths)
  .sort(([a], [b]) => b.length - a.length)
  .map(([name, [target]]) => ({ find: new RegExp(`^${name}$`), replacement: fileURLToPath(new URL(target!, import.meta.url)) }));

export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: ['test/support/gen-sql-global-setup.ts', 'test/support/pglite-global-setup.ts'],
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx', 'integrations/**/*.test.ts', 'src/**/*.test.ts', 'adapters/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Files share the real Postgres and Redis servers; each file uses its own schema / key prefix,
    // so they may run in parallel, but two cores make more than two workers slower, not faster.
    maxWorkers: 2,
    pool: 'forks',
  },
});
