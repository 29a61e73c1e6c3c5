// After tsup: remove what the package would ship twice or could never run.
//
// 1. Every declaration exists twice, as `.d.ts` (ESM) and `.d.cts` (CJS): the same text but for
//    `.js`/`.cjs` in import paths, 175 KB each. The declarations stay once, in the `.d.cts` files;
//    each exported `.d.ts` becomes one line re-exporting its `.d.cts`. ESM may import CJS types in
//    every TypeScript module mode, while the reverse is an error under `node16` (TS1479). One set of
//    declarations also means ESM and CJS code in one program see one `SessionStore` type, not two.
// 2. `botwire/testing` runs inside Vitest, which is ESM-only (`require('vitest')` throws), so its
//    CommonJS build could never load: it becomes a module that says so.
// 3. Files nothing reachable from package.json (`exports`, `bin`) imports any more are deleted.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const targets = (value) => (typeof value === 'string' ? [value] : Object.values(value ?? {}).flatMap(targets));
const before = files(dist).reduce((sum, f) => sum + statSync(f).size, 0);

function files(dir) {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

for (const [subpath, entry] of Object.entries(pkg.exports)) {
  if (typeof entry === 'string') continue;
  const esmTypes = join(root, entry.import.types);
  writeFileSync(esmTypes, `export * from './${basename(entry.require.types, '.d.cts')}.cjs';\n`);
  if (subpath === './testing') {
    writeFileSync(join(root, entry.require.default), `'use strict';
throw new Error("botwire/testing runs inside Vitest, which is ESM-only: import it (import { sessionStoreContract } from 'botwire/testing') from an ES module or a .mts test file.");
`);
  }
}

// Everything reachable from package.json through relative import specifiers stays; the rest goes.
const keep = new Set();
const queue = [...targets(pkg.exports), ...targets(pkg.bin)].map((t) => join(root, t));
const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["'](\.{1,2}\/[^"']+)["']/gm;
while (queue.length) {
  const file = queue.pop();
  if (keep.has(file)) continue;
  if (!existsSync(file)) throw new Error(`trim-dist: ${relative(root, file)} is referenced but missing`);
  keep.add(file);
  if (!/\.(c?js|d\.c?ts)$/.test(file)) continue;
  const declaration = /\.d\.c?ts$/.test(file);
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(specifier)) {
    const target = join(dirname(file), spec);
    // In declaration files `./x.cjs` names `./x.d.cts` (and `./x.js` names `./x.d.ts`).
    queue.push(declaration ? target.replace(/\.cjs$/, '.d.cts').replace(/\.js$/, '.d.ts') : target);
  }
}
for (const file of files(dist)) if (!keep.has(file)) rmSync(file);
const after = [...keep].filter((f) => f.startsWith(dist)).reduce((sum, f) => sum + statSync(f).size, 0);
console.log(`trim-dist: dist ${Math.round(before / 1024)} KB → ${Math.round(after / 1024)} KB`);
