/** Shared helpers for the benchmarks: run loops, round-trip counting wrappers, table printing. */
import { Worker, type JobQueue } from 'botwire/jobs';
import type { Redis } from 'ioredis';
import type pg from 'pg';

/** One benchmark operation, given its index. */
export type Op = (i: number) => Promise<unknown>;

/** Run `total` operations with at most `concurrency` in flight; returns throughput. */
export async function runOps(total: number, concurrency: number, op: Op): Promise<{ opsPerSec: number; ms: number }> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) await op(next++);
  }));
  const ms = performance.now() - started;
  return { opsPerSec: (total / ms) * 1000, ms };
}

/** One job library in the job benches (bench/jobs.ts, bench/jobs-redis.ts). */
export interface JobImpl {
  name: string;
  add(i: number): Promise<unknown>;
  /** Start a worker whose handler calls `onStart(payload.i)`; resolves when it is ready to take jobs. */
  startWorker(concurrency: number, onStart: (i: number) => void): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** The job benches' payload: its index plus 1 KB of padding. */
export const jobPayload = (i: number): { i: number; pad: string } => ({ i, pad: 'x'.repeat(1_000) });

/** botwire's side of a job bench: `noop` jobs on `queue`, worked by a `Worker`; `close` frees the connections. */
export function botwireJobs(queue: JobQueue, close: () => Promise<void>, name = 'botwire'): JobImpl {
  return {
    name,
    add: (i) => queue.add('noop', jobPayload(i)),
    async startWorker(concurrency, onStart) {
      const worker = new Worker(queue, { noop: ({ job }) => { onStart((job.payload as { i: number }).i); return null; } }, { concurrency });
      await worker.start();
      return { stop: () => worker.stop() };
    },
    close: async () => { await queue.close(); await close(); },
  };
}

/**
 * Enqueue → handler-start latencies (ms) of `n` jobs added at `rate` per second into a worker at
 * concurrency 10, started first and given `idleMs` to go idle (blocked, listening or polling).
 * `bound` may cap the wait for the last start (a peer that never gets there fails the phase).
 */
export async function pacedLatency(
  startWorker: (concurrency: number, onStart: (i: number) => void) => Promise<{ stop(): Promise<void> }>,
  add: (i: number) => Promise<unknown>,
  options: { n: number; rate: number; idleMs: number; bound?: (all: Promise<void>) => Promise<void> },
): Promise<number[]> {
  const { n, rate, idleMs, bound } = options;
  const sent = new Array<number>(n);
  const waited: number[] = [];
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const worker = await startWorker(10, (i) => { waited.push(performance.now() - sent[i]!); if (waited.length === n) finished(); });
  await sleep(idleMs);
  const gap = 1_000 / rate;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const wait = t0 + i * gap - performance.now();
    if (wait > 0) await sleep(wait);
    sent[i] = performance.now();
    void add(i);
  }
  await (bound ? bound(all) : all);
  await worker.stop();
  return waited;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Percentile (0–100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * Count round trips an ioredis client makes: every command sent outside a pipeline is one; a
 * pipeline/multi `exec` is one however many commands it carries.
 */
export function countingRedis(client: Redis): { client: Redis; calls: () => number } {
  let calls = 0;
  const sendCommand = client.sendCommand.bind(client) as (...a: unknown[]) => unknown;
  // Pipelined commands reach sendCommand with a stream marked isPipeline; the pipeline's single
  // write is counted at exec instead.
  (client as unknown as { sendCommand: unknown }).sendCommand = (...args: unknown[]) => {
    if (!(args[1] as { isPipeline?: boolean } | undefined)?.isPipeline) calls++;
    return sendCommand(...args);
  };
  for (const name of ['pipeline', 'multi'] as const) {
    const original = (client[name] as (...a: unknown[]) => { exec: (...a: unknown[]) => Promise<unknown> }).bind(client);
    (client as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
      const p = original(...a);
      const exec = p.exec.bind(p);
      p.exec = (...e: unknown[]) => { calls++; return exec(...e); };
      return p;
    };
  }
  return { client, calls: () => calls };
}

/** Count `query` calls on a pg Pool/Client (each is one round trip). */
export function countingPg<T extends pg.Pool>(client: T): { client: T; calls: () => number } {
  let calls = 0;
  const query = client.query.bind(client) as (...a: unknown[]) => unknown;
  (client as unknown as { query: unknown }).query = (...a: unknown[]) => { calls++; return query(...a); };
  return { client, calls: () => calls };
}

/** Total commands the Redis server has executed so far (from INFO commandstats). */
export async function redisCommandCalls(admin: Redis): Promise<number> {
  const info = await admin.info('commandstats');
  let total = 0;
  for (const m of info.matchAll(/calls=(\d+)/g)) total += Number(m[1]);
  return total;
}

/** One result line of a benchmark table. */
export interface Row {
  backend: string;
  op: string;
  impl: string;
  opsPerSec: number;
  rtPerOp: number;
  serverCmdsPerOp?: number | undefined;
}

/** Print rows as a Markdown table with botwire's ratio against each peer row's baseline. */
export function printTable(rows: Row[], baselineOf: (r: Row) => Row | undefined): void {
  console.log('| backend | operation | implementation | ops/s | round trips/op | server cmds/op | botwire ÷ this |');
  console.log('| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const base = baselineOf(r);
    const ratio = base ? `${(base.opsPerSec / r.opsPerSec).toFixed(2)}×` : '—';
    const server = r.serverCmdsPerOp === undefined ? '—' : r.serverCmdsPerOp.toFixed(2);
    console.log(`| ${r.backend} | ${r.op} | ${r.impl} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.rtPerOp.toFixed(2)} | ${server} | ${ratio} |`);
  }
}
