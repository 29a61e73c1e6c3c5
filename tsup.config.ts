import { defineConfig } from 'tsup';

/** One entry per public subpath; keep in step with package.json `exports` and `typesVersions`. */
export const entries = {
  index: 'src/index.ts',
  'adapter-kit': 'src/adapter-kit/index.ts',
  jobs: 'src/jobs/index.ts',
  sync: 'src/sync/index.ts',
  codec: 'src/codec/rich-json-codec.ts',
  memory: 'adapters/memory/index.ts',
  redis: 'adapters/redis/index.ts',
  postgres: 'adapters/postgres/index.ts',
  supabase: 'adapters/supabase/index.ts',
  testing: 'src/testing/index.ts',
  http: 'integrations/http/index.ts',
  'http/node': 'integrations/http/node.ts',
  dashboard: 'integrations/dashboard/index.ts',
  cli: 'adapters/postgres/cli.ts',
  ws: 'integrations/ws/index.ts',
  client: 'integrations/client/index.ts',
  react: 'integrations/react/index.ts',
  grammy: 'integrations/grammy/index.ts',
  telegraf: 'integrations/telegraf/index.ts',
  otel: 'integrations/otel/index.ts',
} as const;

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // No source maps in the package: they were 2.0 of its 3.2 MB unpacked, for code that is readable ES2022 as shipped.
  sourcemap: false,
  target: 'es2022',
  splitting: true,
  treeshake: true,
  // Peers are never bundled: users install the ones they use.
  external: ['ioredis', 'pg', '@electric-sql/pglite', '@supabase/supabase-js', 'grammy', 'telegraf', 'ws', 'react', 'vitest', '@opentelemetry/api'],
});
