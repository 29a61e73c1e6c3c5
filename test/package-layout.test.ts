import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entries } from '../tsup.config.js';

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, unknown>; typesVersions: Record<string, Record<string, string[]>>;
};
const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as { compilerOptions: { paths: Record<string, string[]> } };

/** Every import statement of a file: its specifier and whether the whole statement is type-only. */
function importsOf(file: string): Array<{ spec: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const out: Array<{ spec: string; typeOnly: boolean }> = [];
  for (const m of text.matchAll(/^\s*(import|export)(\s+type)?\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

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
      // Examples inside TSDoc comments may name peers; only code counts.
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const m of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)['"]([^'"]+)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || peers.some((p) => spec === p || spec.startsWith(`${p}/`))) offenders.push(`${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('resolves every subpath to its tsup entry in tsconfig paths (tests and examples import them as users do)', () => {
    const expected = Object.fromEntries(Object.entries(entries).filter(([e]) => e !== 'cli')
      .map(([e, file]) => [e === 'index' ? 'botwire' : `botwire/${e}`, [file]]));
    expect(tsconfig.compilerOptions.paths).toEqual(expected);
  });

  it('lets adapters import the core only through botwire, botwire/jobs and botwire/sync (types) and botwire/adapter-kit (values)', () => {
    const offenders: string[] = [];
    for (const file of filesUnder(join(root, 'adapters')).filter((f) => f.endsWith('.ts'))) {
      const adapterDir = join(root, 'adapters', relative(join(root, 'adapters'), file).split(sep)[0]!);
      for (const { spec, typeOnly } of importsOf(file)) {
        const where = `${relative(root, file)}: ${spec}`;
        if (spec.startsWith('.')) {
          // Relative imports stay inside the adapter's own folder: never a deep path into src/.
          if (relative(adapterDir, join(dirname(file), spec)).startsWith('..')) offenders.push(where);
        } else if (spec === 'botwire' || spec === 'botwire/jobs' || spec === 'botwire/sync') {
          // A value import of the whole core makes the adapter's entry reach (and load) every core
          // module: esbuild's code splitting groups modules by the entries that reach them.
          if (!typeOnly) offenders.push(`${where} (only \`import type\` from '${spec}'; values come from botwire/adapter-kit)`);
        } else if (spec.startsWith('botwire/') && spec !== 'botwire/adapter-kit') offenders.push(where);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('has no import cycles among the files of src/, adapters/ and integrations/ (type-only imports included)', () => {
    const graph = new Map<string, string[]>();
    for (const dir of ['src', 'adapters', 'integrations']) {
      for (const file of filesUnder(join(root, dir)).filter((f) => f.endsWith('.ts') || f.endsWith('.tsx'))) {
        graph.set(file, importsOf(file).filter((i) => i.spec.startsWith('.'))
          .map((i) => join(dirname(file), i.spec.replace(/\.js$/, existsSync(join(dirname(file), i.spec.replace(/\.js$/, '.tsx'))) ? '.tsx' : '.ts'))));
      }
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      path.push(file);
      for (const dep of graph.get(file) ?? []) {
        if (state.get(dep) === 'open') cycles.push([...path.slice(path.indexOf(dep)), dep].map((f) => relative(root, f)).join(' → '));
        else if (!state.has(dep)) visit(dep);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
