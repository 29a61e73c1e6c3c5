import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries } from '../tsup.config.js';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>; typesVersions: Record<string, Record<string, string[]>>;
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('package layout', () => {
  it('exports exactly the tsup entries as subpaths, each with typesVersions for node10', () => {
    const subpaths = Object.keys(entries).filter((e) => e !== 'cli').map((e) => (e === 'index' ? '.' : `./${e}`));
    expect(Object.keys(pkg.exports).filter((k) => k !== './package.json').sort()).toEqual(subpaths.sort());
    const tv = Object.keys(pkg.typesVersions['*'] ?? {}).sort();
    expect(tv).toEqual(Object.keys(entries).filter((e) => e !== 'cli' && e !== 'index').sort());
  });

  it('keeps the core edge-safe: no node: built-ins and no peer packages imported from src/', () => {
    const peers = ['ioredis', 'pg', '@electric-sql/pglite', '@supabase/supabase-js', 'grammy', 'telegraf', 'ws', 'react'];
    const offenders: string[] = [];
    for (const file of filesUnder(join(root, 'src')).filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.test.ts'))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || peers.some((p) => spec === p || spec.startsWith(`${p}/`))) offenders.push(`${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
