/** Shared helpers for the benchmarks: run loops, round-trip counting wrappers, table printing. */
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
