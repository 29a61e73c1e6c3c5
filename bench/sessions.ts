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
import { migrate, postgresSessionStore } from '../adapters/postgres/index.js';
import { redisSessionStore } from '../adapters/redis/index.js';
import { type Op, countingPg, countingRedis, median, printTable, redisCommandCalls, runOps, type Row } from './_support.js';

const quick = process.argv.includes('--quick');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = quick ? 1 : 3;
const CONCURRENCY = 16;
const KEYS = 1_000;
const session = { step: 'name', tournament: { name: 'TestTournament123', buyin: 500, seats: [1, 2, 3, 4] }, lang: 'ru', updatedAt: '2026-11-21T00:00:00Z', notes: 'x'.repeat(80) };

interface Impl {
  name: string;
  get(key: string): Promise<unknown>;
  set(key: string, value: typeof session): Promise<unknown>;
  /** One read-modify-write cycle; `safe` says whether it excludes lost updates. */
  rmw(key: string): Promise<unknown>;
  safe: boolean;
  calls(): number;
}

async function measure(impl: Impl, backend: 'redis' | 'postgres', ops: number, serverCalls?: () => Promise<number>): Promise<Row[]> {
  const rows: Row[] = [];
  const keys = Array.from({ length: KEYS }, (_, i) => `bench:${impl.name}:${i}`);
  await runOps(KEYS, CONCURRENCY, (i) => impl.set(keys[i]!, session));
  const kinds: Array<[string, Op]> = [
    ['get', (i) => impl.get(keys[i % KEYS]!)],
    ['set', (i) => impl.set(keys[i % KEYS]!, session)],
    [impl.safe ? 'acquire+commit' : 'read+write (unsafe)', (i) => impl.rmw(keys[i % KEYS]!)],
  ];
  for (const [op, fn] of kinds) {
    const rates: number[] = [];
    let rt = 0;
    let server = 0;
    for (let r = 0; r < RUNS; r++) {
      const before = impl.calls();
      const sBefore = serverCalls ? await serverCalls() : 0;
      const { opsPerSec } = await runOps(ops, CONCURRENCY, fn);
      rates.push(opsPerSec);
      rt = (impl.calls() - before) / ops;
      if (serverCalls) server = ((await serverCalls()) - sBefore - 1) / ops; // -1: the INFO call itself
    }
    rows.push({ backend, op: op.startsWith('read') || op.startsWith('acquire') ? 'read-modify-write' : op, impl: `${impl.name}${op.includes('unsafe') ? ' (unsafe)' : ''}`, opsPerSec: median(rates), rtPerOp: rt, serverCmdsPerOp: serverCalls ? server : undefined });
  }
  return rows;
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
  const rows = [
    ...(await measure({
      name: 'botwire', safe: true, calls: a.calls,
      get: (k) => botwire.get(k), set: (k, v) => botwire.set(k, v, { ttlMs: 3_600_000 }),
      rmw: async (k) => { const l = await botwire.acquire(k); await l.commit({ ...(l.record?.data ?? session), step: 'buyin' }, { ttlMs: 3_600_000 }); },
    }, 'redis', ops, server)),
    ...(await measure({
      name: '@grammyjs/storage-redis', safe: false, calls: b.calls,
      get: (k) => grammy.read(k), set: (k, v) => grammy.write(k, v),
      rmw: async (k) => { const v = await grammy.read(k); await grammy.write(k, { ...(v ?? session), step: 'buyin' }); },
    }, 'redis', ops, server)),
  ];
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
  const rows = [
    ...(await measure({
      name: 'botwire', safe: true, calls: a.calls,
      get: (k) => botwire.get(k), set: (k, v) => botwire.set(k, v, { ttlMs: 3_600_000 }),
      rmw: async (k) => { const l = await botwire.acquire(k); await l.commit({ ...(l.record?.data ?? session), step: 'buyin' }, { ttlMs: 3_600_000 }); },
    }, 'postgres', ops)),
    ...(await measure({
      name: '@grammyjs/storage-psql', safe: false, calls: b.calls,
      get: (k) => grammy.read(k), set: (k, v) => grammy.write(k, v),
      rmw: async (k) => { const v = (await grammy.read(k)) as typeof session | undefined; await grammy.write(k, { ...(v ?? session), step: 'buyin' }); },
    }, 'postgres', ops)),
  ];
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query('DROP TABLE IF EXISTS bench_grammy_sessions');
  await Promise.all([a.client.end(), b.client.end(), admin.end()]);
  return rows;
}

const rows = [...(await redisBench()), ...(await postgresBench())];
console.log(`sessions: concurrency ${CONCURRENCY}, ${KEYS} keys, ~${JSON.stringify(session).length} B session, median of ${RUNS} run(s)`);
printTable(rows, (r) => (r.impl === 'botwire' ? undefined : rows.find((x) => x.backend === r.backend && x.op === r.op && x.impl === 'botwire')));
