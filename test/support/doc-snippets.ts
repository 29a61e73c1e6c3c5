/**
 * Extracts the TypeScript code blocks of the Markdown documentation and type-checks them all in one
 * TypeScript program, with the repository's strict options, against the package's public subpaths
 * (`botwire`, `botwire/*`): the sources through the tsconfig `paths` (test/docs-snippets.test.ts, no
 * build needed) or the built declarations in dist/ (scripts/check-doc-snippets.ts, in CI).
 *
 * Conventions in the Markdown source (HTML comments: invisible when rendered, plain in the source):
 * - `<!-- snippet: declare const chatId: number; -->` right before a block (blank lines between are
 *   fine) is code the block needs but does not show: names defined elsewhere on the page, your own
 *   functions. It is compiled in front of the block, in the same module.
 * - `<!-- snippet-preamble: … -->` anywhere in a file: the same, for every block of that file.
 * - `<!-- not-compiled: why -->` right before a block leaves it out; the reason is required.
 *
 * Every block is a module of its own (top-level `await` works) with the repository's compiler options.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One fenced block of TypeScript in a Markdown file. */
export interface DocSnippet {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the block's first code line in the Markdown file. */
  line: number;
  lang: 'ts' | 'tsx';
  code: string;
  /** Code from a `snippet:` comment before the block, and the 1-based line it starts on. */
  context?: { code: string; line: number };
  /** Code from the file's `snippet-preamble:` comment, and the 1-based line it starts on. */
  preamble?: { code: string; line: number };
  /** Reason from a `not-compiled:` comment: the block is not type-checked. */
  notCompiled?: string;
}

/** A type error in a snippet, located in its Markdown file. */
export interface SnippetDiagnostic {
  /** `file.md:line:column` */
  where: string;
  code: number;
  message: string;
}

/**
 * Third-party modules the documentation imports that this repository does not install, and why they
 * appear. Their imports type as `any`; everything botwire's own in those blocks is still checked.
 */
export const UNTYPED_DOC_MODULES: Readonly<Record<string, string>> = {
  '@tanstack/react-query': 'docs/guides/sync.md feeds its refetch to useSyncRefetch; not a dependency of botwire',
  '@opentelemetry/sdk-node': 'docs/guides/observability.md sets up tracing with NodeSDK; the tests use sdk-trace-base instead',
  '@opentelemetry/exporter-trace-otlp-http': 'docs/guides/observability.md exports spans over OTLP; not a dependency of botwire',
  '@opentelemetry/exporter-metrics-otlp-http': 'docs/guides/observability.md exports metrics over OTLP; not a dependency of botwire',
};

const TS_LANGS: Record<string, 'ts' | 'tsx'> = { ts: 'ts', typescript: 'ts', mts: 'ts', tsx: 'tsx' };

/** Splits one Markdown file into its TypeScript blocks with their conventions applied. */
export function extractSnippets(markdown: string, file: string): DocSnippet[] {
  const lines = markdown.split('\n');
  const snippets: DocSnippet[] = [];
  let preamble: DocSnippet['preamble'];
  // The last directive comment seen, if only blank lines followed it: it belongs to the next block.
  let pending: { kind: 'snippet' | 'not-compiled'; text: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const comment = /^<!--\s*(snippet-preamble|snippet|not-compiled):/.exec(line);
    if (comment) {
      const start = i;
      let text = line.slice(comment[0].length);
      while (!text.includes('-->')) {
        i++;
        if (i >= lines.length) throw new Error(`${file}:${start + 1}: unterminated <!-- ${comment[1]}: comment`);
        text += `\n${lines[i]}`;
      }
      text = text.slice(0, text.indexOf('-->'));
      const kind = comment[1] as 'snippet-preamble' | 'snippet' | 'not-compiled';
      if (kind === 'snippet-preamble') {
        if (preamble) throw new Error(`${file}:${start + 1}: a second snippet-preamble (one per file)`);
        preamble = { code: text, line: start + 1 };
      } else {
        if (kind === 'not-compiled' && !text.trim()) throw new Error(`${file}:${start + 1}: not-compiled needs a reason`);
        pending = { kind, text, line: start + 1 };
      }
      continue;
    }
    const fence = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(line);
    if (fence) {
      const close = fence[1]!;
      const lang = TS_LANGS[fence[2]!.toLowerCase()];
      const body: string[] = [];
      const first = i + 1;
      for (i++; i < lines.length && !lines[i]!.startsWith(close); i++) body.push(lines[i]!);
      if (lang) {
        const snippet: DocSnippet = { file, line: first + 1, lang, code: body.join('\n') };
        if (pending?.kind === 'snippet') snippet.context = { code: pending.text, line: pending.line };
        if (pending?.kind === 'not-compiled') snippet.notCompiled = pending.text.trim();
        snippets.push(snippet);
      } else if (pending) {
        throw new Error(`${file}:${pending.line}: <!-- ${pending.kind}: --> stands before a block that is not TypeScript`);
      }
      pending = undefined;
      continue;
    }
    if (pending && line.trim() !== '') throw new Error(`${file}:${pending.line}: <!-- ${pending.kind}: --> is not followed by a code block`);
  }
  if (pending) throw new Error(`${file}:${pending.line}: <!-- ${pending.kind}: --> is not followed by a code block`);
  if (preamble) for (const s of snippets) s.preamble = preamble;
  return snippets;
}

/**
 * The documentation whose blocks must compile: README.md, docs/**\/*.md except the generated API
 * reference (docs/api/), and the examples' READMEs.
 */
export function documentationFiles(root: string): string[] {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : walk(path);
    return name.endsWith('.md') ? [path] : [];
  });
  const docs = walk(join(root, 'docs')).filter((p) => !relative(root, p).split('\\').join('/').startsWith('docs/api/'));
  const examples = walk(join(root, 'examples')).filter((p) => p.endsWith('README.md'));
  return [join(root, 'README.md'), ...docs, ...examples].map((p) => relative(root, p).split('\\').join('/')).sort();
}

interface VirtualFile {
  snippet: DocSnippet;
  text: string;
  /** Lines of the virtual file where the preamble, the context and the block start (0-based). */
  preambleAt: number;
  contextAt: number;
  codeAt: number;
}

function virtualFile(snippet: DocSnippet): VirtualFile {
  const parts: string[] = [];
  let at = 0;
  const add = (code: string): number => {
    const start = at;
    parts.push(code);
    at += code.split('\n').length;
    return start;
  };
  const preambleAt = snippet.preamble ? add(snippet.preamble.code) : -1;
  const contextAt = snippet.context ? add(snippet.context.code) : -1;
  const codeAt = add(snippet.code);
  // Every block is a module, so names never clash across blocks and top-level await is allowed.
  add('export {};');
  return { snippet, text: `${parts.join('\n')}\n`, preambleAt, contextAt, codeAt };
}

/** Maps a 0-based line of a virtual file back to its Markdown file (1-based). */
function markdownLine(v: VirtualFile, line: number): number {
  const { snippet } = v;
  if (line >= v.codeAt) return snippet.line + line - v.codeAt;
  // A comment's code starts on the comment's own line, after `<!-- snippet:`.
  if (snippet.context && line >= v.contextAt) return snippet.context.line + line - v.contextAt;
  if (snippet.preamble && line >= v.preambleAt) return snippet.preamble.line + line - v.preambleAt;
  return snippet.line;
}

/**
 * The repository's compiler options (tsconfig.json), for checking only. Against `'sources'` the
 * tsconfig `paths` map `botwire/*` to the TypeScript sources (no build needed); against `'dist'`
 * they are dropped, so `botwire/*` resolves as a user's import does: through package.json `exports`
 * (the package imports itself by name) to the built declarations in dist/.
 */
export function compilerOptions(root: string, against: 'sources' | 'dist' = 'sources'): ts.CompilerOptions {
  const path = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(path, (p) => ts.sys.readFile(p));
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, path);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, incremental: false };
  if (against === 'dist') {
    delete options.paths;
    delete options.baseUrl;
  }
  return options;
}

/** Options of {@link checkSnippets}. */
export interface CheckOptions {
  /** What `botwire/*` resolves to; see {@link compilerOptions}. @default 'sources' */
  against?: 'sources' | 'dist';
  /**
   * Modules declared without types (`declare module 'x';`), so their imports are `any`.
   * @default the keys of {@link UNTYPED_DOC_MODULES}
   */
  untypedModules?: readonly string[];
}

/**
 * Type-checks every snippet not marked `not-compiled` in one program and returns the errors,
 * located in the Markdown files. Snippets that compile contribute nothing.
 */
export function checkSnippets(root: string, snippets: DocSnippet[], check: CheckOptions = {}): SnippetDiagnostic[] {
  const options = compilerOptions(root, check.against);
  const files = new Map<string, VirtualFile>();
  snippets.filter((s) => s.notCompiled === undefined).forEach((s, i) => {
    // Inside the repository, so that `node_modules` and the tsconfig `paths` resolve as for any source file.
    const name = join(root, '.doc-snippets', `${s.file.replace(/[^\w.-]/g, '_')}.${s.line}.${i}.${s.lang}`);
    files.set(name, virtualFile(s));
  });
  const extra = new Map<string, string>();
  const untyped = check.untypedModules ?? Object.keys(UNTYPED_DOC_MODULES);
  if (untyped.length) {
    extra.set(join(root, '.doc-snippets', 'untyped-modules.d.ts'), untyped.map((m) => `declare module '${m}';\n`).join(''));
  }
  const host = ts.createCompilerHost(options, true);
  const { fileExists, readFile, getSourceFile } = host;
  const textOf = (f: string): string | undefined => files.get(f)?.text ?? extra.get(f);
  host.fileExists = (f) => textOf(f) !== undefined || fileExists.call(host, f);
  host.readFile = (f) => textOf(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, onError, create) => {
    const text = textOf(f);
    return text !== undefined ? ts.createSourceFile(f, text, lang, true) : getSourceFile.call(host, f, lang, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...files.keys(), ...extra.keys()], options, host });
  // Only the snippets are checked: the sources they import are tsc's job, and checking them here
  // would take most of the time.
  const diagnostics = [
    ...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics(),
    ...[...files.keys()].flatMap((f) => {
      const sf = program.getSourceFile(f)!;
      return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    }),
  ];
  const out: SnippetDiagnostic[] = [];
  for (const d of diagnostics) {
    const v = d.file ? files.get(d.file.fileName) : undefined;
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!v || !d.file || d.start === undefined) {
      out.push({ where: d.file?.fileName ?? 'program', code: d.code, message });
      continue;
    }
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    out.push({ where: `${v.snippet.file}:${markdownLine(v, line)}:${character + 1}`, code: d.code, message });
  }
  return out;
}
