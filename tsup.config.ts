import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Plugin } from 'esbuild';
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

/**
 * The server-side entries that share one core chunk (src/internal/server-core.ts). Left out: the
 * `botwire` entry (bundled for edge runtimes within a size budget), and what runs in browsers or
 * needs little of the core (`codec`, `client`, `react`, `http/node`).
 */
export const SERVER_ENTRIES: readonly (keyof typeof entries)[] = [
  'adapter-kit', 'jobs', 'sync', 'memory', 'redis', 'postgres', 'supabase', 'testing', 'http', 'dashboard', 'cli', 'ws',
  'grammy', 'telegraf', 'otel',
];
const SERVER_CORE = resolve('src/internal/server-core.ts');

/**
 * Each server entry also imports src/internal/server-core.ts. esbuild puts a module into the chunk of
 * the exact set of entries reaching it, so with twenty entries reaching different parts of the core,
 * `botwire/grammy` + `botwire/redis` loaded 17 files; reaching the same core, they load 8. Node's
 * ESM loader costs ~0.3–0.5 ms of CPU per module (resolve, read, link), more than compiling the
 * core modules an entry would otherwise skip (~20 µs per KB): see the cold-import bench.
 */
const serverCore: Plugin = {
  name: 'server-core',
  setup(build) {
    const members = new Set(SERVER_ENTRIES.map((e) => resolve(entries[e])));
    // The import is bare; the package's `sideEffects: false` would let esbuild drop it.
    build.onResolve({ filter: /server-core\.ts$/ }, (args) => (args.path === SERVER_CORE ? { path: SERVER_CORE, sideEffects: true } : undefined));
    build.onLoad({ filter: /\.tsx?$/ }, (args) => {
      if (!members.has(args.path)) return undefined;
      return { contents: `${readFileSync(args.path, 'utf8')}\nimport ${JSON.stringify(SERVER_CORE)};\n`, loader: args.path.endsWith('x') ? 'tsx' : 'ts' };
    });
  },
};

export default defineConfig({
  entry: entries,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // No source maps in the package: they were 2.0 of its 3.2 MB unpacked, for code that is readable ES2022 as shipped.
  sourcemap: false,
  target: 'es2022',
  splitting: true,
  esbuildPlugins: [serverCore],
  treeshake: true,
  // Peers are never bundled: users install the ones they use.
  external: ['ioredis', 'pg', '@electric-sql/pglite', '@supabase/supabase-js', 'grammy', 'telegraf', 'ws', 'react', 'vitest', '@opentelemetry/api'],
});
