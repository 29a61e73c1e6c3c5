// `npm run bench -- <name…>` builds the package, then runs bench/<name>.ts with tsx; no name runs
// every bench in bench/. Benches import `botwire/*`, resolved (bench/tsconfig.json has no `paths`)
// through package.json exports to dist/: they measure the code users install, as the peers'
// published builds are measured. `--no-build` skips the build (dist/ must be current).
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const all = readdirSync(new URL('../bench/', import.meta.url)).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`Unknown bench: ${unknown.join(', ')}. Available: ${all.join(', ')}`);
  process.exit(2);
}
if (!process.argv.includes('--no-build')) {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'], shell: process.platform === 'win32' });
  if (build.status !== 0) {
    console.error('Build failed: the benches measure dist/. Fix the build (npm run build) first.');
    process.exit(1);
  }
}
let failed = 0;
for (const name of wanted.length ? wanted : all) {
  console.log(`\n=== bench: ${name} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...process.argv.slice(2).filter((a) => a.startsWith('-') && a !== '--no-build')], {
    stdio: 'inherit',
    env: { ...process.env, TSX_TSCONFIG_PATH: 'bench/tsconfig.json' },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
