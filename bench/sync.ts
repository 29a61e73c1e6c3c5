// `npm run bench -- sync`: SyncBus publish→deliver latency across two OS processes (paced) and burst
// throughput, botwire on Redis and on Postgres against raw ioredis pub/sub and raw pg NOTIFY in the
// same run, and botwire again with `secret` (signed envelopes) to show what signing costs; then the
// SyncCache getOrLoad hit path. Options: --paced=N --burst=N --rounds=N
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createMemorySyncHub, memorySyncBus } from 'botwire/memory';
import { postgresSyncBus } from 'botwire/postgres';
import { redisSyncBus } from 'botwire/redis';
import { SyncCache } from 'botwire/sync';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const flag = (name: string, def: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def);
const PACED = flag('paced', 1_000);
const PACE_MS = 2;
const BURST = flag('burst', 5_000);
const ROUNDS = flag('rounds', 2);
const now = (): number => performance.timeOrigin + performance.now();
const space = `bwbench_${process.pid}`;

type Mode = 'botwire-redis' | 'botwire-redis-secret' | 'raw-redis' | 'botwire-pg' | 'botwire-pg-secret' | 'raw-pg';
/** Same secret as bench/_sync-peer.ts: publisher and receiver must agree. */
const SECRET = 'bench-secret-bench-secret-bench-secret-0123';
interface Receiver { onEvent(fn: (t: number) => void): void; close(): Promise<unknown> }

async function receiver(mode: Mode): Promise<Receiver> {
  let handler: (t: number) => void = () => {};
  if (mode.startsWith('botwire-')) {
    const secret = mode.endsWith('-secret') ? SECRET : undefined;
    const bus = mode.startsWith('botwire-redis')
      ? redisSyncBus({ url: REDIS_URL, channelPrefix: space, secret })
      : postgresSyncBus({ connectionString: DATABASE_URL, schema: space, secret });
    bus.subscribe('bench.*', (e) => handler((e.data as { t: number }).t));
    await bus.ready(20_000);
    return { onEvent: (fn) => { handler = fn; }, close: () => bus.close() };
  }
  if (mode === 'raw-redis') {
    const sub = new Redis(REDIS_URL);
    sub.on('pmessage', (_p, _c, m) => handler((JSON.parse(m) as { t: number }).t));
    await sub.psubscribe(`${space}*`);
    return { onEvent: (fn) => { handler = fn; }, close: async () => sub.disconnect() };
  }
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  c.on('notification', (m) => handler((JSON.parse(m.payload ?? '{}') as { t: number }).t));
  await c.query(`LISTEN "${space}_sync"`);
  return { onEvent: (fn) => { handler = fn; }, close: () => c.end() };
}

function startPublisher(mode: Mode) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/_sync-peer.ts', mode, mode.includes('redis') ? REDIS_URL : DATABASE_URL, space], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const expect = async (word: string): Promise<void> => { const l = await lines.next(); if (l.value !== word) throw new Error(`${mode} peer said ${l.value}`); };
  return {
    ready: () => expect('ready'),
    run: async (cmd: object) => { child.stdin.write(JSON.stringify(cmd) + '\n'); await expect('done'); },
    stop: () => { child.stdin.write('{"cmd":"exit"}\n'); return new Promise((r) => child.once('exit', r)); },
  };
}

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function measure(mode: Mode): Promise<{ p50: number; p99: number; perSec: number }> {
  const rx = await receiver(mode);
  const peer = startPublisher(mode);
  await peer.ready();
  const latencies: number[] = [];
  rx.onEvent((t) => { latencies.push(now() - t); });
  await peer.run({ cmd: 'paced', count: PACED, paceMs: PACE_MS });
  while (latencies.length < PACED) await new Promise((r) => setTimeout(r, 5));
  let got = 0;
  let last = 0;
  rx.onEvent(() => { got++; last = now(); });
  const started = now();
  await peer.run({ cmd: 'burst', count: BURST });
  while (got < BURST) await new Promise((r) => setTimeout(r, 2));
  await peer.stop();
  await rx.close();
  latencies.sort((a, b) => a - b);
  return { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), perSec: BURST / ((last - started) / 1000) };
}

const fmt = (n: number, d = 3): string => n.toFixed(d);
const MODES: Mode[] = ['raw-redis', 'botwire-redis', 'botwire-redis-secret', 'raw-pg', 'botwire-pg', 'botwire-pg-secret'];
const results = Object.fromEntries(MODES.map((m) => [m, []])) as unknown as Record<Mode, Array<{ p50: number; p99: number; perSec: number }>>;
for (let round = 0; round < ROUNDS; round++) {
  // Signed right after unsigned in every round, so both see the same machine load.
  for (const mode of MODES) {
    const r = await measure(mode);
    results[mode].push(r);
    console.log(`round ${round + 1} ${mode.padEnd(21)} p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  burst ${Math.round(r.perSec)} events/s`);
  }
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const agg = (mode: Mode) => ({ p50: median(results[mode].map((r) => r.p50)), p99: median(results[mode].map((r) => r.p99)), perSec: median(results[mode].map((r) => r.perSec)) });
console.log(`\nmedian of ${ROUNDS} rounds; paced ${PACED} events every ${PACE_MS} ms, burst ${BURST}; ~100-byte payload; latency ratio = botwire ÷ raw (< 1.2 target), throughput ratio = botwire ÷ raw`);
console.log('| backend | botwire p50 / p99 (ms) | raw p50 / p99 (ms) | latency ratio p50 / p99 | botwire burst (events/s) | raw burst (events/s) | throughput ratio |');
console.log('|---|---|---|---|---|---|---|');
for (const [name, b, r] of [['Redis (ioredis pub/sub)', 'botwire-redis', 'raw-redis'], ['Postgres (pg NOTIFY)', 'botwire-pg', 'raw-pg']] as const) {
  const x = agg(b);
  const y = agg(r);
  console.log(`| ${name} | ${fmt(x.p50)} / ${fmt(x.p99)} | ${fmt(y.p50)} / ${fmt(y.p99)} | ${fmt(x.p50 / y.p50, 2)} / ${fmt(x.p99 / y.p99, 2)} | ${Math.round(x.perSec)} | ${Math.round(y.perSec)} | ${fmt(x.perSec / y.perSec, 2)} |`);
}
console.log('\nsigning: the same workload with `secret` (HMAC-SHA-256 per envelope, verified by the receiver); budget: signed ÷ unsigned burst ≥ 0.90');
console.log('| backend | unsigned p50 / p99 (ms) | signed p50 / p99 (ms) | unsigned burst (events/s) | signed burst (events/s) | signed ÷ unsigned burst |');
console.log('|---|---|---|---|---|---|');
for (const [name, plain, signed] of [['Redis', 'botwire-redis', 'botwire-redis-secret'], ['Postgres', 'botwire-pg', 'botwire-pg-secret']] as const) {
  const x = agg(plain);
  const y = agg(signed);
  console.log(`| ${name} | ${fmt(x.p50)} / ${fmt(x.p99)} | ${fmt(y.p50)} / ${fmt(y.p99)} | ${Math.round(x.perSec)} | ${Math.round(y.perSec)} | ${fmt(y.perSec / x.perSec, 2)} |`);
}

// SyncCache hit path: getOrLoad on a warm key (returns the entry's cached promise) and sync get.
const bus = memorySyncBus({ hub: createMemorySyncHub() });
const cache = new SyncCache<string[]>({ bus, ttlMs: 600_000 });
await cache.getOrLoad('buttons:main_keyboard', async () => ['a', 'b']);
for (const [label, fn] of [
  ['getOrLoad hit', () => cache.getOrLoad('buttons:main_keyboard', async () => ['never'])],
  ['get hit', () => cache.get('buttons:main_keyboard')],
] as const) {
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const N = 2_000_000;
    const t = performance.now();
    for (let i = 0; i < N; i++) fn();
    best = Math.max(best, N / ((performance.now() - t) / 1000));
  }
  console.log(`SyncCache ${label}: ${(best / 1e6).toFixed(1)} M ops/s (best of 5 × 2M; target ≥ 1M)`);
}
await bus.close();
