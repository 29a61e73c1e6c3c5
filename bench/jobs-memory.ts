/**
 * `npm run bench -- jobs-memory [--sizes=1000,16000,64000] [--runs=3] [--concurrency=10]`
 *
 * How `memoryJobQueue` scales with the queue's size: for each size N, add N no-op jobs (1 KB
 * payload), then drain them with one `Worker` (jobs/s from the worker's start to the last
 * completion; for small N the worker's start-up weighs in), after one untimed warm-up drain. The
 * claim takes jobs from per-name heaps, so the rate should barely depend on N: the target is the
 * largest size within 2× of the smallest size's rate. Medians of `--runs`.
 */
import { Worker } from 'botwire/jobs';
import { memoryJobQueue } from 'botwire/memory';
import { jobPayload, median } from './_support.js';

const flag = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const SIZES = (flag('sizes') ?? '1000,16000,64000').split(',').map(Number);
const RUNS = Number(flag('runs') ?? 3);
const CONCURRENCY = Number(flag('concurrency') ?? 10);

async function drain(n: number): Promise<{ addPerSec: number; drainPerSec: number }> {
  const queue = memoryJobQueue({ handlers: { noop: () => null } });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1_000) {
    await Promise.all(Array.from({ length: Math.min(1_000, n - i) }, (_, k) => queue.add('noop', jobPayload(i + k))));
  }
  const added = performance.now();
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const started = performance.now();
  const worker = new Worker(queue, undefined, {
    concurrency: CONCURRENCY, maintenanceIntervalMs: 5_000,
    onOutcome: (outcome) => { if (outcome === 'completed' && ++done === n) finished(); },
  });
  await all;
  const ms = performance.now() - started;
  await worker.stop();
  await queue.close();
  return { addPerSec: (n / (added - t0)) * 1000, drainPerSec: (n / ms) * 1000 };
}

const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');
console.log(`memoryJobQueue drain, one Worker at concurrency ${CONCURRENCY}, median of ${RUNS} run(s)`);
console.log('| jobs | add jobs/s | drain jobs/s |');
console.log('| ---: | ---: | ---: |');
// One untimed drain first, so the first size is not measured on cold (unoptimized) code.
await drain(Math.min(...SIZES));
const rates = new Map<number, number>();
for (const n of SIZES) {
  const runs: Array<{ addPerSec: number; drainPerSec: number }> = [];
  for (let r = 0; r < RUNS; r++) runs.push(await drain(n));
  const rate = median(runs.map((x) => x.drainPerSec));
  rates.set(n, rate);
  console.log(`| ${fmt(n)} | ${fmt(median(runs.map((x) => x.addPerSec)))} | ${fmt(rate)} |`);
}
const small = Math.min(...SIZES);
const large = Math.max(...SIZES);
const ratio = rates.get(small)! / rates.get(large)!;
console.log(`\n${fmt(small)} → ${fmt(large)} jobs: the drain rate drops ${ratio.toFixed(2)}× (target: ≤ 2×) ${ratio <= 2 ? 'met' : 'NOT met'}`);
