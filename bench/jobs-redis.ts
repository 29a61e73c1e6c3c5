/**
 * `npm run bench -- jobs-redis [--quick] [--jobs=N] [--runs=N] [--latency-jobs=N] [--rate=N] [--limited-jobs=N] [--redis-url=URL] [--observe]`
 *
 * botwire's Redis JobQueue vs BullMQ 6 in the same run, on the same Redis (separate prefixes):
 * - add N no-op jobs with a 1 KB payload (16 adds in flight), then drain them with one worker at
 *   concurrency 1 and at concurrency 10 (jobs/s from worker start to the last completion);
 * - enqueue→start latency p50/p99 under a paced load, workers already idle and waiting;
 * - fleet cases (bench/_redis-fleet.ts): `--limited-jobs` jobs of a name limited to 3 at once
 *   drained by 4 workers × concurrency 5 (botwire `limits` vs BullMQ `setGlobalConcurrency(3)`), and
 *   one bulk add of N jobs (botwire `addMany` vs BullMQ `addBulk`);
 * - round trips per job (every command or pipeline an ioredis connection sends, blocking ones
 *   included, across all connections either library opens), server commands per job
 *   (`INFO commandstats` delta, which also counts the commands run inside Lua scripts), and CPU
 *   per job of the Redis server process and of this (client) process.
 * Each figure is the median of `--runs` runs. By default a private redis-server is started so
 * that other processes' traffic cannot leak into the command counts; `--redis-url` uses another
 * server (keys are then deleted by prefix instead of flushing). `--observe` adds botwire with a
 * pino logger and OpenTelemetry installed, sampling off (bench/_observability.ts), in the same runs.
 */
import { spawnSync } from 'node:child_process';
import { Queue, Worker as BullWorker } from 'bullmq';
import { Redis } from 'ioredis';
import { redisJobQueue } from 'botwire/redis';
import { deleteKeys } from '../test/support/redis-keys.js';
import { startPrivateRedis } from '../test/support/redis-server.js';
import { observability, observe } from './_observability.js';
import { botwireFleet, bullmqFleet, type FleetImpl } from './_redis-fleet.js';
import { botwireJobs, jobPayload, median, pacedLatency, percentile, runOps, type JobImpl } from './_support.js';

const flag = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const quick = process.argv.includes('--quick');
const N = Number(flag('jobs') ?? (quick ? 2_000 : 20_000));
const RUNS = Number(flag('runs') ?? (quick ? 1 : 3));
const LAT_N = Number(flag('latency-jobs') ?? (quick ? 300 : 2_000));
const RATE = Number(flag("rate") ?? 200);
const LIMITED_N = Number(flag('limited-jobs') ?? (quick ? 1_000 : 5_000));

// Round trips of every ioredis connection in this process (both libraries use the same ioredis):
// one per command sent on its own, one per pipeline however many commands it carries.
let roundTrips = 0;
let admin: Redis | undefined;
const seenPipelines = new WeakSet<object>();
const proto = Redis.prototype as unknown as { sendCommand: (...a: unknown[]) => unknown };
const send = proto.sendCommand;
proto.sendCommand = function (this: Redis, ...args: unknown[]) {
  if (this !== admin) {
    const stream = args[1] as { isPipeline?: boolean } | undefined;
    if (!stream?.isPipeline) roundTrips++;
    else if (!seenPipelines.has(stream)) { seenPipelines.add(stream); roundTrips++; }
  }
  return send.apply(this, args);
};

type Impl = JobImpl;

function botwire(url: string, prefix: string): Impl {
  const client = new Redis(url);
  return botwireJobs(redisJobQueue({ client, prefix, handlers: { noop: () => null } }), async () => { await client.quit(); });
}

const OBSERVED = 'botwire +log +otel';

function botwireObserved(url: string, prefix: string): Impl {
  const client = new Redis(url);
  const queue = redisJobQueue({ client, prefix, handlers: { noop: () => null }, ...observability() });
  return botwireJobs(queue, async () => { await client.quit(); }, OBSERVED);
}

function bullmq(url: string, prefix: string): Impl {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
  const queue = new Queue('bench', { connection, prefix });
  return {
    name: 'BullMQ 6',
    add: (i) => queue.add('noop', jobPayload(i)),
    async startWorker(concurrency, onStart) {
      const worker = new BullWorker('bench', async (job) => { onStart((job.data as { i: number }).i); return null; }, { connection, prefix, concurrency });
      await worker.waitUntilReady();
      return { stop: () => worker.close() };
    },
    async close() { await queue.close(); },
  };
}

interface Sample { impl: string; metric: string; value: number }

/**
 * Server-side totals: commands executed (INFO commandstats, including those run inside scripts)
 * and the server process's CPU time (INFO cpu, user + system: no double counting of script
 * internals, and it includes the network work of every round trip).
 */
async function serverStats(): Promise<{ calls: number; usec: number }> {
  const info = await admin!.info('all');
  let calls = 0;
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(m[1]);
  const cpu = (k: string): number => Number(info.match(new RegExp(`^${k}:([\\d.]+)`, 'm'))?.[1] ?? 0);
  return { calls, usec: (cpu('used_cpu_user') + cpu('used_cpu_sys')) * 1e6 };
}

/** Run `phase` and record round trips, server commands, server time and client CPU per job. */
async function counted(impl: { name: string }, label: string, jobs: number, out: Sample[], phase: () => Promise<void>): Promise<void> {
  const rt = roundTrips;
  const s0 = await serverStats();
  const c0 = process.cpuUsage();
  await phase();
  const c = process.cpuUsage(c0);
  const s1 = await serverStats();
  out.push({ impl: impl.name, metric: `${label} round trips/job`, value: (roundTrips - rt) / jobs });
  out.push({ impl: impl.name, metric: `${label} server cmds/job`, value: (s1.calls - s0.calls - 1) / jobs });
  out.push({ impl: impl.name, metric: `${label} server CPU µs/job`, value: (s1.usec - s0.usec) / jobs });
  out.push({ impl: impl.name, metric: `${label} client CPU µs/job`, value: (c.user + c.system) / jobs });
}

async function throughput(impl: Impl, concurrency: number, out: Sample[]): Promise<void> {
  let added = { opsPerSec: 0 };
  await counted(impl, 'add', N, concurrency === 1 ? out : [], async () => { added = await runOps(N, 16, (i) => impl.add(i)); });
  if (concurrency === 1) out.push({ impl: impl.name, metric: 'add jobs/s', value: added.opsPerSec });
  let ms = 0;
  await counted(impl, `drain c=${concurrency}`, N, out, async () => {
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => { finished = r; });
    const started = performance.now();
    const worker = await impl.startWorker(concurrency, () => { if (++done === N) finished(); });
    await all;
    ms = performance.now() - started;
    await worker.stop();
  });
  out.push({ impl: impl.name, metric: `drain c=${concurrency} jobs/s`, value: (N / ms) * 1000 });
}

/** Bulk add of N jobs. */
async function bulkAdd(impl: FleetImpl, out: Sample[]): Promise<void> {
  let ms = 0;
  await counted(impl, 'addMany', N, out, async () => {
    const started = performance.now();
    await impl.addMany(N);
    ms = performance.now() - started;
  });
  out.push({ impl: impl.name, metric: 'addMany jobs/s', value: (N / ms) * 1000 });
}

/** A drain of a name limited to 3 by 4 workers × 5. */
async function limited(impl: FleetImpl, out: Sample[]): Promise<void> {
  let ms = 0;
  await impl.addMany(LIMITED_N);
  await counted(impl, 'limited 3 × 4 workers', LIMITED_N, out, async () => {
    let done = 0;
    let finished!: () => void;
    const all = new Promise<void>((r) => { finished = r; });
    const started = performance.now();
    const workers = await impl.startLimited(4, 5, () => { if (++done === LIMITED_N) finished(); });
    await all;
    ms = performance.now() - started;
    await workers.stop();
  });
  out.push({ impl: impl.name, metric: 'limited 3 × 4 workers jobs/s', value: (LIMITED_N / ms) * 1000 });
}

async function latency(impl: Impl, out: Sample[]): Promise<void> {
  const waited = await pacedLatency((c, onStart) => impl.startWorker(c, onStart), (i) => impl.add(i), { n: LAT_N, rate: RATE, idleMs: 200 });
  out.push({ impl: impl.name, metric: 'latency p50 ms', value: percentile(waited, 50) });
  out.push({ impl: impl.name, metric: 'latency p99 ms', value: percentile(waited, 99) });
}

async function main(): Promise<void> {
  const external = flag('redis-url');
  const hasServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
  const priv = external || !hasServer ? undefined : await startPrivateRedis();
  const url = external ?? priv?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  admin = new Redis(url);
  const version = (await admin.info('server')).match(/redis_version:(\S+)/)?.[1];
  console.log(`Redis ${version} at ${url}${priv ? ' (private)' : ''}; ${N} jobs, ${RUNS} run(s), latency ${LAT_N} jobs at ${RATE}/s`);
  const samples: Sample[] = [];
  let n = 0;
  const fresh = async (): Promise<string> => {
    if (priv) await admin!.flushall();
    return `bwbench${process.pid}-${++n}`;
  };
  // Phases alternate between the libraries (and which goes first alternates by run), so a change
  // in machine load hits both alike.
  for (let run = 0; run < RUNS; run++) {
    // Each library takes each place in the order in turn (with --observe, three places: run at
    // least 3 times), so no one always follows the same predecessor's teardown.
    const libs = observe ? [botwire, botwireObserved, bullmq] : [botwire, bullmq];
    const order = [...libs.slice(run % libs.length), ...libs.slice(0, run % libs.length)];
    for (const c of [1, 10]) {
      for (const make of order) {
        const impl = make(url, await fresh());
        await throughput(impl, c, samples);
        await impl.close();
      }
    }
    for (const make of order) {
      const impl = make(url, await fresh());
      await latency(impl, samples);
      await impl.close();
    }
    for (const phase of [bulkAdd, limited]) {
      for (const make of run % 2 ? [bullmqFleet, botwireFleet] : [botwireFleet, bullmqFleet]) {
        const impl = make(url, await fresh());
        await phase(impl, samples);
        await impl.close();
      }
    }
    console.log(`run ${run + 1}/${RUNS} done`);
  }
  if (external) {
    for (const pattern of [`{bwbench${process.pid}-*`, `bwbench${process.pid}-*`]) await deleteKeys(admin, pattern);
  }
  report(samples);
  admin.disconnect();
  await priv?.dispose();
}

function report(samples: Sample[]): void {
  const metrics = [...new Set(samples.map((s) => s.metric))];
  const med = (impl: string, metric: string): number => median(samples.filter((s) => s.impl === impl && s.metric === metric).map((s) => s.value));
  console.log(`\n| metric | botwire | BullMQ 6 | botwire ÷ BullMQ |${observe ? ` ${OBSERVED} | observed ÷ plain |` : ''}`);
  console.log(`| --- | ---: | ---: | ---: |${observe ? ' ---: | ---: |' : ''}`);
  for (const m of metrics) {
    const a = med('botwire', m);
    const b = med('BullMQ 6', m);
    const fmt = (v: number): string => (m.includes('jobs/s') || m.includes('µs') ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
    // For rates higher is better; for latency and counts lower is better: the ratio says "× better".
    const ratio = m.includes('jobs/s') ? a / b : b / a;
    // observed ÷ plain: for rates, 0.95 = 5 % slower; for costs, 1.05 = 5 % more.
    const observed = observe && samples.some((s) => s.impl === OBSERVED && s.metric === m);
    const o = observed ? med(OBSERVED, m) : 0;
    const extra = !observe ? '' : observed ? ` ${fmt(o)} | ${(o / a).toFixed(3)} |` : ' — | — |';
    console.log(`| ${m} | ${fmt(a)} | ${fmt(b)} | ${ratio.toFixed(2)}×${m.includes('jobs/s') ? '' : ' fewer/lower'} |${extra}`);
  }
}

await main();
