/**
 * `npm run bench -- cold-import [--runs=N]`
 *
 * How long a bot's process spends loading botwire: `import('botwire/grammy')` +
 * `import('botwire/redis')` (the built dist/, resolved through package.json exports as users get
 * it) against `import('grammy')` itself, each in fresh Node processes (default 10 each, taken in
 * turns so both see the same machine), median and ratio.
 *
 * What is timed: `performance.now()` around the `await import(...)` calls inside the child, so Node's
 * own start-up (~40 ms, the same for every script) is not in the numbers — subtracting an
 * empty-script baseline from whole-process times would leave the import as the difference of two
 * noisy totals. The first dynamic import of a process also pays a one-off loader warm-up; its cost
 * is printed as "empty module", measured the same way with a `data:` module, and stays in both sides
 * (which only moves the ratio towards 1, against botwire).
 */
import { spawnSync } from 'node:child_process';
import { median } from './_support.js';

const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const RUNS = runsArg ? Number(runsArg.slice('--runs='.length)) : 10;

const subjects: Record<string, string[]> = {
  'botwire/grammy + botwire/redis': ['botwire/grammy', 'botwire/redis'],
  grammy: ['grammy'],
  'empty module': ['data:text/javascript,export{}'],
};

/** Milliseconds one fresh process spends in `await import(...)` of `specifiers`, in order. */
function coldImport(specifiers: string[]): number {
  const code = `const t0 = performance.now();\n${specifiers.map((s) => `await import(${JSON.stringify(s)});`).join('\n')}\nprocess.stdout.write(String(performance.now() - t0));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd: new URL('..', import.meta.url).pathname });
  if (r.status !== 0) throw new Error(`import of ${specifiers.join(', ')} failed:\n${r.stderr}`);
  return Number(r.stdout);
}

const times = new Map(Object.keys(subjects).map((name) => [name, [] as number[]]));
for (let i = 0; i < RUNS; i++) {
  for (const [name, specifiers] of Object.entries(subjects)) times.get(name)!.push(coldImport(specifiers));
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;
console.log(`cold import, median of ${RUNS} fresh processes each (node ${process.version}):`);
for (const [name, list] of times) {
  const sorted = [...list].sort((a, b) => a - b);
  console.log(`  ${name.padEnd(32)} ${ms(median(list)).padStart(9)}   (min ${ms(sorted[0]!)}, max ${ms(sorted.at(-1)!)})`);
}
const ours = median(times.get('botwire/grammy + botwire/redis')!);
const theirs = median(times.get('grammy')!);
console.log(`  ratio botwire ÷ grammy: ${(ours / theirs).toFixed(2)}× (target ≤ 0.35×)`);
