/**
 * `npm run bench -- jobs [--quick] [--jobs=N] [--runs=N] [--latency-jobs=N] [--rate=N] [--only=drain,bulk,limited]`
 *
 * botwire's Postgres JobQueue vs pg-boss 10 and graphile-worker 0.17 in the same run, on the same
 * Postgres, each in its own schema (the Redis half, vs BullMQ, is bench/jobs-redis.ts):
 * - add N no-op jobs with a 1 KB payload (16 adds in flight), then drain them with one worker at
 *   concurrency 1 and at concurrency 10 (jobs/s from worker start to the last job started);
 * - enqueue→start latency p50/p99 under a paced load, the worker already idle and waiting;
 * - round trips per job: every `query` any pg client of this process sends (pg-boss and
 *   graphile-worker use the same `pg`), LISTEN connections included, notifications not.
 * - bulk add: N jobs in one call of each library's bulk API (botwire `addMany`, which sends chunks of
 *   500; graphile-worker `addJobs`; pg-boss `insert`);
 * - a limited name: N no-op jobs of a name limited to 3 at once fleet-wide, 4 workers × concurrency 5
 *   (botwire alone: pg-boss 10 and graphile-worker 0.17 have no fleet-wide limit per name).
 * Each figure is the median of `--runs` runs. Library defaults are kept, except the polling
 * intervals, set to each library's minimum so that polling peers are not handicapped, and
 * graphile-worker runs twice: with its defaults and tuned as its docs advise for throughput
 * (`localQueue.size: 50`, `completeJobBatchDelay: 0`). A drain
 * that does not finish within `--phase-timeout-s` (120 s; 30 s with --quick) is measured on the
 * jobs it started by then (pg-boss waits its polling interval after every fetch).
 */
import { makeWorkerUtils, run as graphileRun } from 'graphile-worker';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { Worker } from 'botwire/jobs';
import { postgresJobQueue } from 'botwire/postgres';
import { migrate } from 'botwire/postgres';
import { botwireJobs, jobPayload, median, pacedLatency, percentile, runOps, type JobImpl } from './_support.js';

const flag = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = process.argv.includes('--quick');
const N = Number(flag('jobs') ?? (quick ? 2_000 : 20_000));
const RUNS = Number(flag('runs') ?? (quick ? 1 : 3));
const LAT_N = Number(flag('latency-jobs') ?? (quick ? 300 : 2_000));
const RATE = Number(flag('rate') ?? 200);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const PHASE_TIMEOUT_MS = Number(flag('phase-timeout-s') ?? (quick ? 30 : 120)) * 1000;
const ONLY = new Set((flag('only') ?? 'drain,bulk,limited').split(','));

/** Fail loudly instead of hanging when a phase never finishes (e.g. the server ran out of connections). */
function within<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} did not finish within ${PHASE_TIMEOUT_MS / 1000} s`)), PHASE_TIMEOUT_MS); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// Round trips of every pg client in this process except the admin one.
let roundTrips = 0;
let admin: pg.Pool | undefined;
const adminClients = new WeakSet<object>();
const proto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
const query = proto.query;
proto.query = function (this: object, ...args: unknown[]) {
  if (!adminClients.has(this)) roundTrips++;
  return query.apply(this, args);
};

/** A library in the bench: its `JobImpl` plus its bulk add. */
type Impl = JobImpl & { addBulk(n: number): Promise<unknown> };
const bulkPayloads = (n: number) => Array.from({ length: n }, (_, i) => jobPayload(i));

async function botwire(schema: string): Promise<Impl> {
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 6 });
  await migrate(pool, { schema });
  const queue = postgresJobQueue({ client: pool, schema, handlers: { noop: () => null } });
  return { ...botwireJobs(queue, () => pool.end()), addBulk: (n) => queue.addMany(bulkPayloads(n).map((payload) => ({ name: 'noop', payload }))) };
}

async function pgBoss(schema: string): Promise<Impl> {
  const boss = new PgBoss({ connectionString: DATABASE_URL, schema, max: 6, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('noop');
  return {
    name: 'pg-boss 10',
    add: (i) => boss.send('noop', jobPayload(i)),
    addBulk: (n) => boss.insert(bulkPayloads(n).map((data) => ({ name: 'noop', data }))),
    async startWorker(concurrency, onStart) {
      // pg-boss runs concurrent jobs as a fetched batch; 0.5 s is its shortest polling interval.
      const id = await boss.work<{ i: number }>('noop', { batchSize: concurrency, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        await Promise.all(jobs.map(async (job) => { onStart(job.data.i); }));
      });
      return { stop: () => boss.offWork(id) };
    },
    async close() { await boss.stop({ graceful: false, wait: true, close: true }); },
  };
}

/** graphile-worker with its defaults, or `tuned` as its performance docs advise for throughput. */
async function graphile(schema: string, tuned = false): Promise<Impl> {
  const utils = await makeWorkerUtils({ connectionString: DATABASE_URL, schema });
  // graphile-worker sizes its own pool from concurrency; keep the utils pool small like the others.
  await utils.migrate();
  const preset = tuned ? { worker: { localQueue: { size: 50 }, completeJobBatchDelay: 0 } } : undefined;
  return {
    name: tuned ? 'graphile-worker 0.17 tuned' : 'graphile-worker 0.17',
    add: (i) => utils.addJob('noop', jobPayload(i)),
    addBulk: (n) => utils.addJobs(bulkPayloads(n).map((payload) => ({ identifier: 'noop', payload }))),
    async startWorker(concurrency, onStart) {
      const runner = await graphileRun({
        connectionString: DATABASE_URL, schema, concurrency, noHandleSignals: true, pollInterval: 100, ...(preset ? { preset } : {}),
        logger: new (await import('graphile-worker')).Logger(() => () => undefined),
        taskList: { noop: async (p) => { onStart((p as { i: number }).i); } },
      });
      // A runner that hit an error under load stops itself; stopping it again must not end the bench.
      return { stop: () => runner.stop().catch((err: unknown) => { if (!/already stopped/.test(String(err))) throw err; }) };
    },
    async close() { await utils.release(); },
  };
}

interface Sample { impl: string; metric: string; value: number }

function record(out: Sample[], sample: Sample): void {
  out.push(sample);
  console.log(`  ${sample.impl} · ${sample.metric}: ${sample.value.toFixed(2)}`);
}

async function throughput(impl: Impl, concurrency: number, out: Sample[]): Promise<void> {
  let rt = roundTrips;
  const added = await runOps(N, 16, (i) => impl.add(i));
  if (concurrency === 1) {
    record(out, { impl: impl.name, metric: 'add jobs/s', value: added.opsPerSec });
    record(out, { impl: impl.name, metric: 'add round trips/job', value: (roundTrips - rt) / N });
  }
  rt = roundTrips;
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const started = performance.now();
  const worker = await impl.startWorker(concurrency, () => { if (++done === N) finished(); });
  // A library that cannot drain N jobs within the phase limit is measured on what it did start.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise<void>((r) => { timer = setTimeout(r, PHASE_TIMEOUT_MS); })]);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (done < N) console.log(`  ${impl.name} · drain c=${concurrency}: only ${done}/${N} started within ${PHASE_TIMEOUT_MS / 1000} s`);
  // Let the last completions land before counting and stopping.
  await sleep(300);
  const trips = (roundTrips - rt) / Math.max(1, done);
  await worker.stop();
  record(out, { impl: impl.name, metric: `drain c=${concurrency} jobs/s`, value: (done / ms) * 1000 });
  record(out, { impl: impl.name, metric: `drain c=${concurrency} round trips/job`, value: trips });
}

async function latency(impl: Impl, out: Sample[]): Promise<void> {
  const waited = await pacedLatency((c, onStart) => impl.startWorker(c, onStart), (i) => impl.add(i), {
    n: LAT_N, rate: RATE, idleMs: 500, bound: (all) => within(`${impl.name} latency`, all),
  });
  record(out, { impl: impl.name, metric: 'latency p50 ms', value: percentile(waited, 50) });
  record(out, { impl: impl.name, metric: 'latency p99 ms', value: percentile(waited, 99) });
}

/** Bulk add of N jobs in one call of the library's bulk API. */
async function bulk(impl: Impl, out: Sample[]): Promise<void> {
  const t0 = performance.now();
  await within(`${impl.name} bulk add`, impl.addBulk(N));
  record(out, { impl: impl.name, metric: 'bulk add jobs/s', value: (N / (performance.now() - t0)) * 1000 });
}

/** botwire only: N no-op jobs of a name limited to 3 at once, 4 workers (each on a pool of its own) × 5. */
async function limited(schema: string, out: Sample[]): Promise<void> {
  const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: DATABASE_URL, max: 4 }));
  await migrate(pools[0]!, { schema });
  const queues = pools.map((client) => postgresJobQueue({ client, schema, limits: { noop: { concurrency: 3 } }, handlers: { noop: () => null } }));
  await queues[0]!.addMany(bulkPayloads(N).map((payload) => ({ name: 'noop', payload })));
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const t0 = performance.now();
  const workers = queues.map((q) => new Worker(q, { noop: () => { if (++done === N) finished(); return null; } }, { concurrency: 5 }));
  await Promise.all(workers.map((w) => w.start()));
  await within('botwire limited drain', all);
  record(out, { impl: 'botwire', metric: 'limited name (3 at once, 4 workers × 5) jobs/s', value: (done / (performance.now() - t0)) * 1000 });
  await Promise.all(workers.map((w) => w.stop()));
  for (const q of queues) await q.close();
  for (const p of pools) await p.end();
}

const IMPLS: Array<[string, (schema: string) => Promise<Impl>]> = [
  ['botwire', botwire], ['pg-boss 10', pgBoss], ['graphile-worker 0.17', (s) => graphile(s)],
  ['graphile-worker 0.17 tuned', (s) => graphile(s, true)],
];

async function main(): Promise<void> {
  admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  admin.on('connect', (c) => { adminClients.add(c); });
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;
  console.log(`PostgreSQL ${version}; ${N} jobs, ${RUNS} run(s), latency ${LAT_N} jobs at ${RATE}/s`);
  const samples: Sample[] = [];
  let n = 0;
  const schemas: string[] = [];
  const fresh = (): string => { const s = `bwbench_${process.pid}_${++n}`; schemas.push(s); return s; };
  try {
    for (let run = 0; run < RUNS; run++) {
      const order = run % 2 ? [...IMPLS].reverse() : IMPLS;
      for (const [name, make] of order) {
        if (ONLY.has('bulk') && name !== 'graphile-worker 0.17 tuned') {
          const impl = await make(fresh());
          await bulk(impl, samples);
          await impl.close();
        }
        if (!ONLY.has('drain')) continue;
        for (const c of [1, 10]) {
          const impl = await make(fresh());
          await throughput(impl, c, samples);
          await impl.close();
        }
        const impl = await make(fresh());
        await latency(impl, samples);
        await impl.close();
      }
      if (ONLY.has('limited')) await limited(fresh(), samples);
      console.log(`run ${run + 1}/${RUNS} done`);
    }
  } finally {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => undefined);
  }
  report(samples);
  await admin.end();
}

function report(samples: Sample[]): void {
  const metrics = [...new Set(samples.map((s) => s.metric))];
  const names = IMPLS.map(([name]) => name);
  const med = (impl: string, metric: string): number => median(samples.filter((s) => s.impl === impl && s.metric === metric).map((s) => s.value));
  const peers = names.slice(1);
  console.log(`\n| metric | ${names.join(' | ')} | ${peers.map((p) => `botwire ÷ ${p}`).join(' | ')} |`);
  console.log(`| --- | ${names.map(() => '---:').join(' | ')} | ${peers.map(() => '---:').join(' | ')} |`);
  for (const m of metrics) {
    const rate = m.includes('jobs/s');
    const fmt = (v: number): string => (rate ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
    const a = med('botwire', m);
    // For rates higher is better; for latency and counts lower is better: each ratio says "× better".
    // A metric a peer did not run (the limited name; graphile tuned's bulk add, same as default) shows "–".
    const ratios = peers.map((p) => { const b = med(p, m); return Number.isNaN(b) ? '–' : `${(rate ? a / b : b / a).toFixed(2)}×`; });
    console.log(`| ${m} | ${names.map((x) => { const v = med(x, m); return Number.isNaN(v) ? '–' : fmt(v); }).join(' | ')} | ${ratios.join(' | ')} |`);
  }
}

await main();
