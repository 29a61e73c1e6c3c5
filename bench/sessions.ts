/**
 * `npm run bench -- sessions [--quick]`
 *
 * get / set / read-modify-write throughput and round trips per operation for botwire's Redis and
 * Postgres session stores vs @grammyjs/storage-redis and @grammyjs/storage-psql, on the same servers
 * in the same run. Round trips are counted two ways: client calls (a counting wrapper around the
 * driver: one `client.query` / one Redis command sent = one round trip) and, on Redis, the server's
 * own `INFO commandstats` delta.
 */
import { PsqlAdapter } from '@grammyjs/storage-psql';
import { RedisAdapter } from '@grammyjs/storage-redis';
import { Redis } from 'ioredis';
import pg from 'pg';
import { migrate, postgresSessionStore } from 'botwire/postgres';
import { redisSessionStore } from 'botwire/redis';
import type { SessionStore } from 'botwire';
import { deleteKeys } from '../test/support/redis-keys.js';
import { type Op, countingPg, countingRedis, median, printTable, redisCommandCalls, runOps, type Row } from './_support.js';

const quick = process.argv.includes('--quick');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = quick ? 2 : 5;
const CONCURRENCY = 16;
const KEYS = 1_000;
const session = { step: 'name', tournament: { name: 'TestTournament123', buyin: 500, seats: [1, 2, 3, 4] }, lang: 'ru', updatedAt: '2026-11-21T00:00:00Z', notes: 'x'.repeat(80) };

/** botwire ÷ peer for each pair of neighbouring runs, printed under the table to show the spread. */
const ratioLines: string[] = [];

interface Impl {
  name: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: typeof session): Promise<unknown>;
  /** One read-modify-write cycle; `safe` says whether it excludes lost updates. */
  rmw(key: string): Promise<unknown>;
  safe: boolean;
  calls(): number;
}

/**
 * Measure every implementation on one backend. The machine is shared and its load swings within
 * seconds, so the implementations take turns run by run (alternating who goes first) instead of
 * one finishing all its runs before the other starts: each ratio compares neighbouring runs.
 */
async function measure(impls: Impl[], backend: 'redis' | 'postgres', ops: number, serverCalls?: () => Promise<number>): Promise<Row[]> {
  const keysOf = new Map(impls.map((impl) => [impl, Array.from({ length: KEYS }, (_, i) => `bench:${impl.name}:${i}`)]));
  for (const impl of impls) await runOps(KEYS, CONCURRENCY, (i) => impl.set(keysOf.get(impl)![i]!, session));
  const rows: Row[] = [];
  for (const kind of ['get', 'set', 'rmw'] as const) {
    const rates = new Map<Impl, number[]>(impls.map((impl) => [impl, []]));
    const rt = new Map<Impl, number>();
    const server = new Map<Impl, number>();
    for (let r = 0; r < RUNS; r++) {
      for (const impl of r % 2 ? [...impls].reverse() : impls) {
        const keys = keysOf.get(impl)!;
        const fn: Op = kind === 'get' ? (i) => impl.get(keys[i % KEYS]!) : kind === 'set' ? (i) => impl.set(keys[i % KEYS]!, session) : (i) => impl.rmw(keys[i % KEYS]!);
        const before = impl.calls();
        const sBefore = serverCalls ? await serverCalls() : 0;
        const { opsPerSec } = await runOps(ops, CONCURRENCY, fn);
        rates.get(impl)!.push(opsPerSec);
        rt.set(impl, (impl.calls() - before) / ops);
        // -1: the INFO call itself. Other clients of a shared server add noise; the minimum over runs is the closest.
        if (serverCalls) server.set(impl, Math.min(server.get(impl) ?? Infinity, ((await serverCalls()) - sBefore - 1) / ops));
      }
    }
    for (const impl of impls) {
      rows.push({
        backend, op: kind === 'rmw' ? 'read-modify-write' : kind, impl: `${impl.name}${impl.safe || kind !== 'rmw' ? '' : ' (unsafe)'}`,
        opsPerSec: median(rates.get(impl)!), rtPerOp: rt.get(impl)!, serverCmdsPerOp: serverCalls ? server.get(impl) : undefined,
      });
    }
    const [bw, peer] = impls.map((impl) => rates.get(impl)!);
    ratioLines.push(`${backend} ${kind}: ${bw!.map((x, i) => (x / peer![i]!).toFixed(2)).join(' ')}`);
  }
  return rows;
}

/** botwire's side: reads and writes with a 1 h TTL; read-modify-write under a lease (no lost updates). */
function botwireImpl(store: SessionStore<typeof session>, calls: () => number): Impl {
  return {
    name: 'botwire', safe: true, calls,
    get: (k) => store.get(k), set: (k, v) => store.set(k, v, { ttlMs: 3_600_000 }),
    rmw: async (k) => { const l = await store.acquire(k); await l.commit({ ...(l.record?.data ?? session), step: 'buyin' }, { ttlMs: 3_600_000 }); },
  };
}

async function redisBench(): Promise<Row[]> {
  const ops = quick ? 5_000 : 30_000;
  const admin = new Redis(REDIS_URL);
  const mk = () => countingRedis(new Redis(REDIS_URL));
  const a = mk();
  const botwire = redisSessionStore<typeof session>({ client: a.client, prefix: 'bench:bw:' });
  const b = mk();
  const grammy = new RedisAdapter<typeof session>({ instance: b.client as unknown as Redis, ttl: 3600 });
  const server = () => redisCommandCalls(admin);
  // Keys left by an earlier run (possibly in an older layout) must not leak into this one.
  for (const pattern of ['bench:bw:*', 'bench:@grammyjs/storage-redis:*']) await deleteKeys(admin, pattern);
  const rows = await measure([botwireImpl(botwire, a.calls), {
    name: '@grammyjs/storage-redis', safe: false, calls: b.calls,
    get: (k) => grammy.read(k), set: (k, v) => grammy.write(k, v),
    rmw: async (k) => { const v = await grammy.read(k); await grammy.write(k, { ...(v ?? session), step: 'buyin' }); },
  }], 'redis', ops, server);
  for (const c of [a.client, b.client, admin]) c.disconnect();
  return rows;
}

async function postgresBench(): Promise<Row[]> {
  const ops = quick ? 2_000 : 10_000;
  const schema = 'bench_sessions';
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query('DROP TABLE IF EXISTS bench_grammy_sessions');
  await migrate(admin, { schema });
  const a = countingPg(new pg.Pool({ connectionString: DATABASE_URL, max: CONCURRENCY }));
  const botwire = postgresSessionStore<typeof session>({ client: a.client, schema });
  const b = countingPg(new pg.Pool({ connectionString: DATABASE_URL, max: CONCURRENCY }));
  const grammy = await PsqlAdapter.create({ tableName: 'bench_grammy_sessions', client: b.client as never });
  const rows = await measure([botwireImpl(botwire, a.calls), {
    name: '@grammyjs/storage-psql', safe: false, calls: b.calls,
    get: (k) => grammy.read(k), set: (k, v) => grammy.write(k, v),
    rmw: async (k) => { const v = (await grammy.read(k)) as typeof session | undefined; await grammy.write(k, { ...(v ?? session), step: 'buyin' }); },
  }], 'postgres', ops);
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query('DROP TABLE IF EXISTS bench_grammy_sessions');
  await Promise.all([a.client.end(), b.client.end(), admin.end()]);
  return rows;
}

const rows = [...(await redisBench()), ...(await postgresBench())];
console.log(`sessions: concurrency ${CONCURRENCY}, ${KEYS} keys, ~${JSON.stringify(session).length} B session, median of ${RUNS} run(s)`);
printTable(rows, (r) => (r.impl === 'botwire' ? undefined : rows.find((x) => x.backend === r.backend && x.op === r.op && x.impl === 'botwire')));
console.log(`\nbotwire ÷ peer per pair of neighbouring runs:\n${ratioLines.join('\n')}`);
