import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { entries } from '../tsup.config.js';

// Bundled from the sources with esbuild (the bundler tsup runs), so the test needs no prior build and
// always sees the current code; `npm run build` turns the same sources into dist/.
const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>; peerDependencies: Record<string, string>;
};
const peers = Object.keys(pkg.peerDependencies);
/** The budget of the core entry, minified and gzipped (zlib's default level). */
const CORE_BUDGET = 15_000;

async function bundle(entryPoints: string[], options: BuildOptions = {}): Promise<{ bytes: Uint8Array; metafile: Metafile }> {
  const result = await build({
    entryPoints: entryPoints.map((e) => join(root, e)), bundle: true, minify: true, format: 'esm', target: 'es2022',
    platform: 'neutral', external: peers, write: false, metafile: true, logLevel: 'silent', absWorkingDir: root, ...options,
  });
  return { bytes: result.outputFiles![0]!.contents, metafile: result.metafile! };
}

describe('package bundles', () => {
  // platform: 'neutral' is what edge bundlers (Vercel Edge, Cloudflare Workers) do: no Node built-in
  // resolves, so an `fs` or `node:` import anywhere in the graph fails the build.
  it(`bundles the botwire entry for a neutral platform in at most ${CORE_BUDGET} bytes min+gzip`, async () => {
    const { bytes, metafile } = await bundle([entries.index]);
    const gz = gzipSync(bytes).length;
    console.log(`botwire entry, neutral platform: ${bytes.length} bytes minified, ${gz} bytes gzipped`);
    expect(Object.keys(metafile.inputs).filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(gz).toBeLessThanOrEqual(CORE_BUDGET);
  });

  it('bundles the other edge-safe entries (jobs, sync, codec, http, dashboard, client, supabase) for a neutral platform', async () => {
    for (const name of ['jobs', 'sync', 'codec', 'http', 'dashboard', 'client', 'supabase'] as const) {
      const { bytes, metafile } = await bundle([entries[name]]);
      expect(bytes.length, name).toBeGreaterThan(0);
      expect(Object.keys(metafile.inputs).filter((f) => f.includes('node_modules')), name).toEqual([]);
    }
  });

  it('gives a bot importing botwire/grammy and botwire/redis no cron parser and no dependency: only its own code and peers', async () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    const { metafile } = await bundle([entries.grammy, entries.redis], { platform: 'node', outdir: join(root, '.tmp/bundle-test') });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.length).toBeGreaterThan(20);
    expect(inputs.filter((f) => !/^(src|adapters|integrations)\//.test(f))).toEqual([]);
    const imported = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    expect(imported.filter((p) => !peers.includes(p) && !p.startsWith('node:'))).toEqual([]);
  });
});
