// Rewrites package.json `exports` and `typesVersions` from the tsup entries, so the three never
// drift apart (test/package-layout.test.ts fails when they do). Run after adding an entry.
import { readFileSync, writeFileSync } from 'node:fs';

const tsup = readFileSync(new URL('../tsup.config.ts', import.meta.url), 'utf8');
const block = tsup.slice(tsup.indexOf('entries = {'), tsup.indexOf('} as const'));
const names = [...block.matchAll(/^\s+'?([a-z/-]+)'?:\s*'/gm)].map((m) => m[1]).filter((n) => n !== 'cli');
const pkgUrl = new URL('../package.json', import.meta.url);
const pkg = JSON.parse(readFileSync(pkgUrl, 'utf8'));
const exportsField = {};
const typesVersions = {};
for (const name of names) {
  const sub = name === 'index' ? '.' : `./${name}`;
  exportsField[sub] = {
    import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
    require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
  };
  if (name !== 'index') typesVersions[name] = [`./dist/${name}.d.ts`];
}
exportsField['./package.json'] = './package.json';
pkg.main = './dist/index.cjs';
pkg.module = './dist/index.js';
pkg.types = './dist/index.d.ts';
pkg.exports = exportsField;
pkg.typesVersions = { '*': typesVersions };
writeFileSync(pkgUrl, JSON.stringify(pkg, null, 2) + '\n');
console.log(`exports: ${names.join(', ')}`);
