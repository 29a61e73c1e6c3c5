// After the build: the documentation's TypeScript blocks type-check against the built package, i.e.
// against dist/*.d.ts through package.json `exports`, as a user's editor sees them. The test suite
// (test/docs-snippets.test.ts) checks the same blocks against the sources, without a build.
// Run with `npx tsx scripts/check-doc-snippets.ts`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSnippets, documentationFiles, extractSnippets } from '../test/support/doc-snippets.js';

const root = join(import.meta.dirname, '..');
const snippets = documentationFiles(root).flatMap((f) => extractSnippets(readFileSync(join(root, f), 'utf8'), f));
const errors = checkSnippets(root, snippets, { against: 'dist' });
if (errors.length) {
  console.error(errors.map((d) => `${d.where} TS${d.code}: ${d.message}`).join('\n'));
  process.exit(1);
}
const skipped = snippets.filter((s) => s.notCompiled !== undefined).length;
console.log(`${snippets.length - skipped} documentation blocks type-check against dist/ (${skipped} marked not-compiled)`);
