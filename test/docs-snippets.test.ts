import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkSnippets, documentationFiles, extractSnippets, type DocSnippet, type SnippetDiagnostic } from './support/doc-snippets.js';

const root = join(import.meta.dirname, '..');

/** Blocks allowed to stay unchecked, as `file: reason`. Adding one means adding it here. */
const NOT_COMPILED: string[] = [];

/** A page exercising every convention; `bad` lines hold the only errors it may produce. */
const FIXTURE = [
  '<!-- snippet-preamble:', //                                             1
  'declare const chatId: number;', //                                      2
  '-->', //                                                                3
  '```ts', //                                                              4
  "import { SessionStore } from 'botwire';", //                            5
  'const n: number = chatId;', //                                          6
  'const s: SessionStore | undefined = undefined;', //                     7
  '```', //                                                                8
  '<!-- snippet: declare const store: import(\'botwire\').SessionStore<{ n: number }>; -->', // 9
  '', //                                                                   10
  '```typescript', //                                                      11
  "await store.set('k', { n: 'one' });", //                               12 bad: string for number
  '```', //                                                                13
  '```ts', //                                                              14
  'const missing = notDeclaredAnywhere + chatId;', //                      15 bad: unknown name
  '```', //                                                                16
  '<!-- not-compiled: a transcript, not code -->', //                      17
  '```ts', //                                                              18
  '$ npx botwire migrate', //                                              19
  '```', //                                                                20
  '```tsx', //                                                             21
  "import { useSyncState } from 'botwire/react';", //                      22
  'export const Badge = () => <b>{useSyncState()}</b>;', //                23
  '```', //                                                                24
  '```sh', //                                                              25
  'not TypeScript, never checked', //                                      26
  '```', //                                                                27
].join('\n');

describe('documentation code blocks', () => {
  const files = documentationFiles(root);
  const snippets = files.flatMap((f) => extractSnippets(readFileSync(join(root, f), 'utf8'), f));
  const fixture = extractSnippets(FIXTURE, 'fixture.md');
  let diagnostics: SnippetDiagnostic[] = [];

  // One program for the documentation and the fixture: creating it is most of the cost.
  beforeAll(() => {
    diagnostics = checkSnippets(root, [...snippets, ...fixture]);
  }, 60_000);

  it('collects the TypeScript blocks of README.md, docs/ (without the generated docs/api) and the examples', () => {
    expect(files).toContain('README.md');
    expect(files).toEqual(expect.arrayContaining(['docs/guides/jobs.md', 'docs/guides/grammy.md', 'docs/guides/sync.md', 'docs/benchmarks.md']));
    expect(files.filter((f) => f.startsWith('docs/api/'))).toEqual([]);
    expect(snippets.length).toBeGreaterThanOrEqual(30);
    expect(new Set(snippets.map((s) => s.lang))).toEqual(new Set(['ts', 'tsx']));
  });

  it('leaves out only the blocks listed in NOT_COMPILED, each with its reason', () => {
    expect(snippets.filter((s) => s.notCompiled !== undefined).map((s) => `${s.file}: ${s.notCompiled}`)).toEqual(NOT_COMPILED);
  });

  it('type-checks every block with the strict repository options against botwire and botwire/*', () => {
    const docs = diagnostics.filter((d) => !d.where.startsWith('fixture.md:'));
    expect(docs.map((d) => `${d.where} TS${d.code}: ${d.message}`)).toEqual([]);
  });

  it('reports a broken block at its line in the Markdown file, with context, preamble and opt-out applied', () => {
    expect(fixture.map((s: DocSnippet) => [s.line, s.lang, s.notCompiled ?? null, s.context ? s.context.line : null, s.preamble?.line ?? null]))
      .toEqual([[5, 'ts', null, null, 1], [12, 'ts', null, 9, 1], [15, 'ts', null, null, 1], [19, 'ts', 'a transcript, not code', null, 1], [22, 'tsx', null, null, 1]]);
    expect(diagnostics.filter((d) => d.where.startsWith('fixture.md:')).map((d) => [d.where, d.code])).toEqual([
      ['fixture.md:12:24', 2322],
      ['fixture.md:15:17', 2304],
    ]);
  });

  it('refuses a not-compiled marker without a reason and a directive that no block follows', () => {
    expect(() => extractSnippets('<!-- not-compiled: -->\n```ts\nx\n```', 'a.md')).toThrow('a.md:1: not-compiled needs a reason');
    expect(() => extractSnippets('<!-- snippet: declare const x: 1; -->\ntext\n```ts\nx\n```', 'b.md')).toThrow('b.md:1:');
    expect(() => extractSnippets('<!-- snippet: declare const x: 1; -->\n```sh\nls\n```', 'c.md')).toThrow('not TypeScript');
    expect(() => extractSnippets('<!-- snippet-preamble: -->\n<!-- snippet-preamble: -->', 'd.md')).toThrow('second snippet-preamble');
  });
});
