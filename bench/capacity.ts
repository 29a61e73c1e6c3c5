/**
 * `npm run bench -- capacity [--quick] [--runs=N] [--scale-seconds=N] [--no-scale] [--database-url=URL]`
 *
 * The capacity model of docs/scaling.md, from what the servers report rather than from guesses:
 * per middleware update (grammY + botwire/grammy `session()` in 'serialize' mode, a handler that
 * reads, changes and writes a small session, 1,000 chats picked at random, 50 updates in flight),
 * per job (add + run + complete: a listening `Worker` at concurrency 10 drains the adds while they
 * arrive, 16 adds in flight, 1 KB payload) and per published event (a `SyncBus` publishing ~100-byte
 * events, 16 in flight, to itself and one other bus: two instances listening):
 * - Redis, on a private redis-server (no other client's work in the deltas): server CPU µs/op from
 *   `INFO cpu` (used_cpu_user + used_cpu_sys), commands/op and µs/op per command from
 *   `INFO commandstats` (reset with `CONFIG RESETSTAT` before each phase; commands run inside
 *   scripts are counted too), client round trips/op (ioredis commands and pipelines sent; for
 *   updates also the backend calls the updates waited for, which botwire merges into fewer commands);
 * - Postgres, on a private server started with `pg_stat_statements` preloaded (bench/_postgres-server.ts):
 *   statements/op (top level = what the client sent, and including statements inside functions),
 *   WAL bytes/op (`pg_wal_lsn_diff` of `pg_current_wal_lsn()`), server CPU µs/op from /proc (every
 *   process of that server, and separately the backends serving this bench's connections, found
 *   by `application_name` in `pg_stat_activity`), client round trips/op (pg `query` calls). With
 *   `--database-url` (or where no server binaries are installed) the bench runs on that server in
 *   a schema of its own: it tries `CREATE EXTENSION pg_stat_statements` and otherwise counts
 *   statements on the client; WAL and all-process CPU then include other clients' work (said so).
 * Each figure is the median of `--runs` runs (3; 1 with --quick) after one warm-up run. From these:
 * ops/s per Redis shard (one core: Redis runs commands on one thread) and per Postgres core at 70 %
 * utilisation, and the fleet for 1k / 10k / 100k updates/s.
 * Then a scaling run: private clusters of 1, 2 and 3 masters (no replicas), 2 client processes
 * (bench/_capacity-client.ts) × 64 updates in flight on 100,000 chats through an ioredis `Cluster`,
 * `--scale-seconds` (6) each: total updates/s, each master's CPU, server CPU µs/update.
 */
import { execSync, spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { type Context } from 'grammy';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { SessionStore } from 'botwire';
import { session, type SessionFlavor } from 'botwire/grammy';
import { Worker, type JobQueue } from 'botwire/jobs';
import { migrate, postgresJobQueue, postgresSessionStore, postgresSyncBus } from 'botwire/postgres';
import { redisJobQueue, redisSessionStore, redisSyncBus } from 'botwire/redis';
import type { SyncBus } from 'botwire/sync';
import { startRedisMasters } from '../test/support/redis-cluster.js';
import { startPrivateRedis } from '../test/support/redis-server.js';
import { grammyBot, textUpdate } from '../test/support/telegram.js';
import { processCpuUs, serverCpuUs, startPrivatePostgres } from './_postgres-server.js';
import { jobPayload, median, runOps } from './_support.js';

const flag = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = process.argv.includes('--quick');
const RUNS = Number(flag('runs') ?? (quick ? 1 : 3));
const SCALE_S = Number(flag('scale-seconds') ?? (quick ? 3 : 6));
const CHATS = 1_000;
const IN_FLIGHT = 50;
const APP = 'botwire-capacity';
/** Operations per measured run, per backend and operation. */
const SIZE = {
  Redis: { update: quick ? 3_000 : 10_000, job: quick ? 2_000 : 5_000, event: quick ? 3_000 : 10_000 },
  Postgres: { update: quick ? 1_500 : 4_000, job: quick ? 1_000 : 3_000, event: quick ? 1_500 : 4_000 },
} as const;
const UTILISATION = 0.7;
const TARGETS = [1_000, 10_000, 100_000];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type OpName = 'update' | 'job' | 'event';
type Backend = 'Redis' | 'Postgres';

/** What one run of one operation measured, per operation. */
interface Sample {
  opsPerSec: number;
  /** Round trips the operation's callers waited for (updates: session backend calls). */
  waited: number;
  /** Commands / queries the client sent (a pipeline counts once). */
  sent: number;
  /** The server's CPU µs (Redis: INFO cpu; Postgres: all of the private server's processes). */
  serverUs: number;
  /** Postgres: CPU µs of the backends serving this bench's connections. */
  backendUs?: number;
  clientUs: number;
  /** Redis: commands executed (commandstats, inside scripts too). Postgres: top-level statements. */
  commands: number;
  /** Postgres: statements including those run inside functions. */
  nested?: number;
  walBytes?: number;
  /** Per command / statement: calls and server µs per operation. */
  breakdown: Map<string, { calls: number; us: number }>;
}

// Client round trips: every ioredis command sent on its own, and every pipeline once (as
// bench/jobs-redis.ts counts), and every pg `query` — except the measuring connections' own.
let redisSent = 0;
let pgSent = 0;
const admins = new WeakSet<object>();
const seenPipelines = new WeakSet<object>();
const redisProto = Redis.prototype as unknown as { sendCommand: (...a: unknown[]) => unknown };
const redisSend = redisProto.sendCommand;
redisProto.sendCommand = function (this: object, ...args: unknown[]) {
  if (!admins.has(this)) {
    const stream = args[1] as { isPipeline?: boolean } | undefined;
    if (!stream?.isPipeline) redisSent++;
    else if (!seenPipelines.has(stream)) { seenPipelines.add(stream); redisSent++; }
  }
  return redisSend.apply(this, args);
};
const pgProto = pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown };
const pgQuery = pgProto.query;
pgProto.query = function (this: object, ...args: unknown[]) {
  if (!admins.has(this)) pgSent++;
  return pgQuery.apply(this, args);
};

/**
 * Backend calls of session stores (each is one round trip its update waits for; botwire merges
 * concurrent ones into fewer commands). Wrapped once per backend class, as bench/middleware.ts does.
 */
let backendCalls = 0;
const wrapped = new WeakSet<object>();
function countCalls<S extends SessionStore<unknown>>(store: S): S {
  const proto = Object.getPrototypeOf(store.backend) as Record<string, unknown>;
  if (wrapped.has(proto)) return store;
  wrapped.add(proto);
  for (const m of ['get', 'set', 'delete', 'touch', 'acquire', 'commit', 'extend', 'release']) {
    const f = proto[m] as ((this: unknown, ...a: unknown[]) => Promise<unknown>) | undefined;
    if (f) proto[m] = function (this: unknown, ...a: unknown[]) { backendCalls++; return f.apply(this, a); };
  }
  return store;
}

/** A small realistic session: a counter, a dialogue step, a language and the last five texts. */
interface Chat { count: number; step: string; lang: string; recent: string[] }
type Ctx = Context & SessionFlavor<Chat>;

/** A grammY bot on `store` whose handler reads, changes and writes the session, with a yield in between. */
function sessionBot(store: SessionStore<unknown>): (u: unknown) => Promise<unknown> {
  const bot = grammyBot<Ctx>();
  bot.use(session({ store: store as SessionStore<Chat>, initial: (): Chat => ({ count: 0, step: 'start', lang: 'en', recent: [] }), concurrency: 'serialize', waitMs: 60_000 }));
  bot.on('message:text', async (ctx) => {
    const s = ctx.session;
    const n = s.count;
    await new Promise((r) => setImmediate(r));
    s.count = n + 1;
    s.step = n % 2 ? 'menu' : 'ask';
    s.recent = [...s.recent.slice(-4), ctx.message.text];
  });
  return (u) => bot.handleUpdate(u as never);
}

/** `n` updates on random chats of `base … base + CHATS - 1`, `IN_FLIGHT` at once; resolves to the successful ones. */
async function driveUpdates(handle: (u: unknown) => Promise<unknown>, n: number, base: number): Promise<number> {
  let x = base;
  let ok = 0;
  await runOps(n, IN_FLIGHT, async (i) => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    await handle(textUpdate(base + ((x >>> 8) % CHATS), `text ${i}`));
    ok++;
  });
  return ok;
}

/** Sum of the stored counters of `base … base + CHATS - 1` (checks that every update landed). */
async function storedTotal(store: SessionStore<unknown>, base: number): Promise<number> {
  const records = await store.getMany(Array.from({ length: CHATS }, (_, i) => String(base + i)));
  return records.reduce((s, r) => s + ((r?.data as Chat | undefined)?.count ?? 0), 0);
}

/** Adds `n` jobs while a listening worker (concurrency 10) runs them; resolves once all completed and it stopped. */
async function driveJobs(queue: JobQueue, n: number): Promise<void> {
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  const worker = new Worker(queue, { noop: () => { if (++done === n) finished(); return null; } }, { concurrency: 10 });
  await worker.start();
  await runOps(n, 16, (i) => queue.add('noop', jobPayload(i)));
  await all;
  await worker.stop();
}

/** Publishes `n` events on `a` (16 in flight); resolves once `b` received them all. */
async function driveEvents(a: SyncBus, b: SyncBus, n: number): Promise<void> {
  const before = b.stats().received;
  const pad = 'x'.repeat(60);
  await runOps(n, 16, (i) => a.publish('cap.ev', { i, pad }));
  const deadline = Date.now() + 30_000;
  while (b.stats().received - before < n) {
    if (Date.now() > deadline) throw new Error(`only ${b.stats().received - before} of ${n} events arrived`);
    await sleep(2);
  }
}

// ---------- Redis ----------

async function redisCounters(admin: Redis): Promise<{ cpuUs: number; stats: Map<string, { calls: number; us: number }> }> {
  const info = await admin.info('all');
  const cpu = (k: string): number => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const stats = new Map<string, { calls: number; us: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (m[1] === 'info' || m[1] === 'config') continue;
    stats.set(m[1]!, { calls: Number(m[2]), us: Number(m[3]) });
  }
  return { cpuUs: (cpu('used_cpu_user') + cpu('used_cpu_sys')) * 1e6, stats };
}

/** Run `body` (n operations) and measure it on the Redis server behind `admin`. */
async function redisPhase(admin: Redis, n: number, body: () => Promise<void>): Promise<Sample> {
  await admin.config('RESETSTAT');
  const before = await redisCounters(admin);
  const sent0 = redisSent;
  const waited0 = backendCalls;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const after = await redisCounters(admin);
  const breakdown = new Map<string, { calls: number; us: number }>();
  let commands = 0;
  for (const [name, s] of after.stats) {
    breakdown.set(name, { calls: s.calls / n, us: s.us / n });
    commands += s.calls;
  }
  const sent = (redisSent - sent0) / n;
  const waited = backendCalls - waited0;
  return {
    opsPerSec: (n / ms) * 1000, sent, waited: waited ? waited / n : sent,
    serverUs: (after.cpuUs - before.cpuUs) / n, clientUs: (c.user + c.system) / n, commands: commands / n, breakdown,
  };
}

async function measureRedis(url: string): Promise<Record<OpName, Sample[]>> {
  const admin = new Redis(url);
  admins.add(admin);
  const out: Record<OpName, Sample[]> = { update: [], job: [], event: [] };
  for (let run = 0; run <= RUNS; run++) {
    const keep = run > 0; // run 0 warms up
    {
      const client = new Redis(url);
      const store = countCalls(redisSessionStore({ client, prefix: `cap:${run}:` }));
      const handle = sessionBot(store);
      const base = 1_000_000 * (run + 1);
      const n = keep ? SIZE.Redis.update : 1_000;
      let ok = 0;
      const s = await redisPhase(admin, n, async () => { ok = await driveUpdates(handle, n, base); });
      const total = await storedTotal(store, base);
      if (total !== ok || ok !== n) throw new Error(`Redis updates: ${ok} of ${n} succeeded, ${total} stored`);
      if (keep) out.update.push(s);
      await store.close();
      await client.quit();
    }
    {
      const client = new Redis(url);
      const queue = redisJobQueue({ client, prefix: `capjobs${run}:`, handlers: { noop: () => null } });
      const n = keep ? SIZE.Redis.job : 500;
      const s = await redisPhase(admin, n, () => driveJobs(queue, n));
      if ((await queue.counts()).completed !== n) throw new Error('Redis jobs: not all completed');
      if (keep) out.job.push(s);
      await queue.close();
      await client.quit();
    }
    {
      const a = redisSyncBus({ url, channelPrefix: `capsync${run}:` });
      const b = redisSyncBus({ url, channelPrefix: `capsync${run}:` });
      a.subscribe('cap.*', () => {});
      b.subscribe('cap.*', () => {});
      await Promise.all([a.ready(10_000), b.ready(10_000)]);
      const n = keep ? SIZE.Redis.event : 1_000;
      const s = await redisPhase(admin, n, () => driveEvents(a, b, n));
      if (keep) out.event.push(s);
      await a.close();
      await b.close();
    }
    await admin.flushall();
  }
  admin.disconnect();
  return out;
}

// ---------- Postgres ----------

interface PgTarget {
  url: string;
  /** The private server's postmaster pid (all its processes are ours), or undefined on a shared server. */
  postmaster?: number;
  /** How statements are counted. */
  statements: 'pg_stat_statements' | 'client';
  /** Where pg_stat_statements lives (schema-qualified), when used. */
  pgss?: string;
  describe: string;
}

const withApp = (url: string): string => `${url}${url.includes('?') ? '&' : '?'}application_name=${APP}`;

async function appPids(admin: pg.Client): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [APP]);
  return rows.map((r) => r.pid);
}

async function pgPhase(t: PgTarget, admin: pg.Client, n: number, body: () => Promise<void>): Promise<Sample> {
  if (t.pgss) await admin.query(`SELECT ${t.pgss.replace(/pg_stat_statements$/, 'pg_stat_statements_reset')}()`);
  const pids0 = new Map((await appPids(admin)).map((pid) => [pid, processCpuUs(pid)]));
  const all0 = t.postmaster ? serverCpuUs(t.postmaster) : 0;
  const lsn0 = (await admin.query<{ l: string }>('SELECT pg_current_wal_lsn() AS l')).rows[0]!.l;
  const sent0 = pgSent;
  const waited0 = backendCalls;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  // Backends that appeared during the phase count from zero; ones gone by now are missed (pools
  // keep their connections for 10 s idle, longer than a phase).
  let backendUs = 0;
  for (const pid of new Set([...pids0.keys(), ...(await appPids(admin))])) {
    const now = processCpuUs(pid);
    if (now > 0) backendUs += now - (pids0.get(pid) ?? 0); // 0: exited meanwhile, its last share is lost
  }
  const all1 = t.postmaster ? serverCpuUs(t.postmaster) : 0;
  const wal = Number((await admin.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [lsn0])).rows[0]!.d);
  const sent = (pgSent - sent0) / n;
  const waited = backendCalls - waited0;
  const breakdown = new Map<string, { calls: number; us: number }>();
  let commands = sent;
  let nested: number | undefined;
  if (t.pgss) {
    const { rows } = await admin.query<{ toplevel: boolean; calls: string; ms: number; query: string }>(
      `SELECT toplevel, calls, total_exec_time AS ms, query FROM ${t.pgss} WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    commands = 0;
    nested = 0;
    for (const r of rows) {
      if (/pg_stat_statements|pg_current_wal_lsn|pg_stat_activity/.test(r.query)) continue;
      const calls = Number(r.calls);
      if (r.toplevel) commands += calls;
      nested += calls;
      const key = `${r.toplevel ? '' : '  (nested) '}${r.query.replace(/\s+/g, ' ').slice(0, 70)}`;
      const prev = breakdown.get(key) ?? { calls: 0, us: 0 };
      breakdown.set(key, { calls: prev.calls + calls / n, us: prev.us + (r.ms * 1000) / n });
    }
    commands /= n;
    nested /= n;
  }
  return {
    opsPerSec: (n / ms) * 1000, sent, waited: waited ? waited / n : sent,
    serverUs: t.postmaster ? (all1 - all0) / n : backendUs / n, backendUs: backendUs / n, clientUs: (c.user + c.system) / n,
    commands, nested, walBytes: wal / n, breakdown,
  };
}

/** The private server, or the one at `--database-url` (or DATABASE_URL where no server binaries are installed). */
async function pgTarget(): Promise<{ target: PgTarget; dispose(): Promise<void>; schema: string }> {
  const external = flag('database-url');
  const priv = external ? undefined : await startPrivatePostgres();
  const schema = priv ? 'botwire' : `bwcap_${process.pid}`;
  if (priv) {
    try {
      const c = new pg.Client({ connectionString: priv.url });
      await c.connect();
      await c.query('CREATE EXTENSION pg_stat_statements');
      await c.end();
    } catch (err) {
      await priv.dispose();
      throw err;
    }
    return {
      target: { url: priv.url, postmaster: priv.pid, statements: 'pg_stat_statements', pgss: 'public.pg_stat_statements', describe: `private PostgreSQL ${priv.version} (initdb defaults: fsync, synchronous_commit and autovacuum on), pg_stat_statements preloaded (track = all)` },
      dispose: () => priv.dispose(),
      schema,
    };
  }
  const url = external ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  // Loadable only where the server preloads it; the extension goes into the bench's schema so
  // dropping that schema removes it, and a failed try leaves nothing behind.
  let pgss: string | undefined;
  try {
    await c.query('BEGIN');
    await c.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA ${schema}`);
    await c.query(`SELECT 1 FROM ${schema}.pg_stat_statements LIMIT 1`);
    await c.query('COMMIT');
    pgss = `${schema}.pg_stat_statements`;
  } catch {
    await c.query('ROLLBACK');
  }
  await c.end();
  return {
    target: {
      url, statements: pgss ? 'pg_stat_statements' : 'client', pgss,
      describe: `Postgres at ${url.replace(/\/\/[^@]*@/, '//')} (shared: WAL bytes include other clients' writes; server CPU = the backends serving this bench's connections only), statements counted ${pgss ? 'by pg_stat_statements' : 'on the client (pg_stat_statements not loadable: not in shared_preload_libraries)'}`,
    },
    dispose: async () => {
      const d = new pg.Client({ connectionString: url });
      await d.connect();
      await d.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await d.end();
    },
    schema,
  };
}

/** Waits until the connections of the phase before have closed, so their exits do not land in the next phase. */
async function settle(admin: pg.Client): Promise<void> {
  for (let i = 0; i < 100 && (await appPids(admin)).length > 0; i++) await sleep(20);
}

async function measurePostgres(t: PgTarget, schema: string): Promise<Record<OpName, Sample[]>> {
  const admin = new pg.Client({ connectionString: t.url });
  admins.add(admin);
  await admin.connect();
  // The measuring connection's own statements stay out of pg_stat_statements.
  if (t.pgss) await admin.query("SET pg_stat_statements.track = 'none'");
  const setup = new pg.Pool({ connectionString: t.url, max: 1 });
  await migrate(setup, { schema });
  await setup.end();
  const out: Record<OpName, Sample[]> = { update: [], job: [], event: [] };
  for (let run = 0; run <= RUNS; run++) {
    const keep = run > 0;
    {
      const pool = new pg.Pool({ connectionString: withApp(t.url), max: 10 });
      const store = countCalls(postgresSessionStore({ client: pool, schema, prefix: `cap${run}:` }));
      const handle = sessionBot(store);
      const base = 1_000_000 * (run + 1);
      const n = keep ? SIZE.Postgres.update : 500;
      let ok = 0;
      const s = await pgPhase(t, admin, n, async () => { ok = await driveUpdates(handle, n, base); });
      const total = await storedTotal(store, base);
      if (total !== ok || ok !== n) throw new Error(`Postgres updates: ${ok} of ${n} succeeded, ${total} stored`);
      if (keep) out.update.push(s);
      await store.close();
      await pool.end();
      await settle(admin);
    }
    {
      const pool = new pg.Pool({ connectionString: withApp(t.url), max: 10 });
      const queue = postgresJobQueue({ client: pool, schema, handlers: { noop: () => null } });
      const n = keep ? SIZE.Postgres.job : 300;
      const s = await pgPhase(t, admin, n, () => driveJobs(queue, n));
      if (keep) out.job.push(s);
      await queue.close();
      await pool.end();
      await settle(admin);
    }
    {
      const a = postgresSyncBus({ connectionString: withApp(t.url), schema });
      const b = postgresSyncBus({ connectionString: withApp(t.url), schema });
      a.subscribe('cap.*', () => {});
      b.subscribe('cap.*', () => {});
      await Promise.all([a.ready(10_000), b.ready(10_000)]);
      const n = keep ? SIZE.Postgres.event : 500;
      const s = await pgPhase(t, admin, n, () => driveEvents(a, b, n));
      if (keep) out.event.push(s);
      await a.close();
      await b.close();
      await settle(admin);
    }
  }
  await admin.end();
  return out;
}

// ---------- cluster scaling ----------

interface ScaleRow {
  masters: number; updatesPerSec: number; masterCpu: number[]; clientCores: number; serverUs: number; clientUs: number; commands: number; errors: number;
  /** CPU share of one core each master used while the clients were connected but idle (cluster bus, timers). */
  idleCpu: number;
}

const CLIENTS = 2;
const CLIENT_IN_FLIGHT = 64;

async function scaleRun(masters: number): Promise<ScaleRow> {
  const cluster = await startRedisMasters(masters);
  const admins = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
  try {
    const children = Array.from({ length: CLIENTS }, (_, id) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/_capacity-client.ts', JSON.stringify(cluster.ports), String(CLIENT_IN_FLIGHT), String(id)], {
        stdio: ['pipe', 'pipe', 'inherit'], env: process.env,
      });
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      return { child, next: async () => String((await lines.next()).value) };
    });
    for (const c of children) { const l = await c.next(); if (l !== 'ready') throw new Error(`capacity client said ${l}`); }
    // Each master's own background work (cluster bus pings, cron), with the clients connected and idle.
    const idle0 = await Promise.all(admins.map((a) => redisCounters(a)));
    const i0 = performance.now();
    await sleep(2_000);
    const idle1 = await Promise.all(admins.map((a) => redisCounters(a)));
    const idleCpu = idle1.reduce((s, x, i) => s + x.cpuUs - idle0[i]!.cpuUs, 0) / masters / ((performance.now() - i0) * 1000);
    const before = await Promise.all(admins.map(async (a) => { await a.config('RESETSTAT'); return redisCounters(a); }));
    const t0 = performance.now();
    for (const c of children) c.child.stdin!.write(`${SCALE_S * 1000}\n`);
    const results = await Promise.all(children.map(async (c) => JSON.parse(await c.next()) as { updates: number; cpuUs: number; errors: number }));
    const wall = performance.now() - t0;
    const after = await Promise.all(admins.map((a) => redisCounters(a)));
    await Promise.all(children.map((c) => new Promise((r) => { c.child.once('exit', r); c.child.stdin!.end(); })));
    const updates = results.reduce((s, r) => s + r.updates, 0);
    const cpu = after.map((a, i) => a.cpuUs - before[i]!.cpuUs);
    let commands = 0;
    for (const a of after) for (const s of a.stats.values()) commands += s.calls;
    return {
      masters, updatesPerSec: (updates / wall) * 1000, masterCpu: cpu.map((us) => us / (wall * 1000)),
      clientCores: results.reduce((s, r) => s + r.cpuUs, 0) / (wall * 1000),
      serverUs: cpu.reduce((s, x) => s + x, 0) / updates, clientUs: results.reduce((s, r) => s + r.cpuUs, 0) / updates,
      commands: commands / updates, errors: results.reduce((s, r) => s + r.errors, 0), idleCpu,
    };
  } finally {
    for (const a of admins) a.disconnect();
    await cluster.dispose();
  }
}

// ---------- report ----------

const fmt = (v: number, d = 0): string => v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

function med(samples: Sample[], pick: (s: Sample) => number | undefined): number {
  return median(samples.map(pick).map((v) => v ?? 0));
}

function breakdownText(samples: Sample[], top: number): string {
  const names = new Set(samples.flatMap((s) => [...s.breakdown.keys()]));
  const rows = [...names].map((name) => ({
    name, calls: median(samples.map((s) => s.breakdown.get(name)?.calls ?? 0)), us: median(samples.map((s) => s.breakdown.get(name)?.us ?? 0)),
  })).filter((r) => r.calls >= 0.005).sort((a, b) => b.calls - a.calls).slice(0, top);
  return rows.map((r) => `${r.name} ${r.calls.toFixed(2)}× ${r.us.toFixed(1)} µs`).join('; ');
}

function loadLine(): string {
  const [l1, l5] = os.loadavg();
  return `load average ${l1!.toFixed(2)} (1 min) ${l5!.toFixed(2)} (5 min) on ${os.cpus().length} cores`;
}

async function main(): Promise<void> {
  const commit = (() => { try { return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim(); } catch { return '?'; } })();
  console.log(`capacity bench · ${new Date().toISOString()} · commit ${commit} · Node ${process.version} · ${loadLine()}`);
  console.log(`${RUNS} measured run(s) per figure (median) after one warm-up run; ${CHATS} chats, ${IN_FLIGHT} updates in flight`);

  const redis = await startPrivateRedis();
  const redisVersion = await (async () => { const r = new Redis(redis.url); const v = /redis_version:(\S+)/.exec(await r.info('server'))?.[1]; r.disconnect(); return v; })();
  console.log(`Redis: private redis-server ${redisVersion} on port ${redis.port} (no persistence)`);
  let redisCosts: Record<OpName, Sample[]>;
  try { redisCosts = await measureRedis(redis.url); } finally { await redis.dispose(); }

  const pgt = await pgTarget();
  console.log(`Postgres: ${pgt.target.describe}`);
  let pgCosts: Record<OpName, Sample[]>;
  try { pgCosts = await measurePostgres(pgt.target, pgt.schema); } finally { await pgt.dispose(); }

  const ops: OpName[] = ['update', 'job', 'event'];
  const label: Record<OpName, string> = { update: 'middleware update', job: 'job (add + run + complete)', event: 'published event (2 listeners)' };

  console.log('\n### Redis: cost per operation (server: INFO cpu and INFO commandstats of a private redis-server)\n');
  console.log('| operation | ops/s in this run | round trips waited/op | commands sent/op | server commands/op | server CPU µs/op | client CPU µs/op |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const op of ops) {
    const s = redisCosts[op];
    console.log(`| ${label[op]} | ${fmt(med(s, (x) => x.opsPerSec))} | ${med(s, (x) => x.waited).toFixed(2)} | ${med(s, (x) => x.sent).toFixed(2)} | ${med(s, (x) => x.commands).toFixed(2)} | ${med(s, (x) => x.serverUs).toFixed(1)} | ${med(s, (x) => x.clientUs).toFixed(1)} |`);
  }
  console.log('\nper command (calls/op, server µs/op from commandstats; commands inside scripts are counted under their own name too):');
  for (const op of ops) console.log(`- ${op}: ${breakdownText(redisCosts[op], 8)}`);

  const t = pgt.target;
  console.log(`\n### Postgres: cost per operation (${t.postmaster ? 'server CPU: every process of the private server, from /proc' : 'server CPU: backends serving this bench, from /proc'}; statements: ${t.statements})\n`);
  console.log('| operation | ops/s in this run | round trips waited/op | queries sent/op | statements/op (top level) | statements/op (incl. nested) | WAL bytes/op | server CPU µs/op | of which backends µs/op | client CPU µs/op |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const op of ops) {
    const s = pgCosts[op];
    const nested = s[0]?.nested === undefined ? '—' : med(s, (x) => x.nested).toFixed(2);
    console.log(`| ${label[op]} | ${fmt(med(s, (x) => x.opsPerSec))} | ${med(s, (x) => x.waited).toFixed(2)} | ${med(s, (x) => x.sent).toFixed(2)} | ${med(s, (x) => x.commands).toFixed(2)} | ${nested} | ${fmt(med(s, (x) => x.walBytes))} | ${med(s, (x) => x.serverUs).toFixed(1)} | ${med(s, (x) => x.backendUs).toFixed(1)} | ${med(s, (x) => x.clientUs).toFixed(1)} |`);
  }
  if (t.pgss) {
    console.log('\nper statement (calls/op, execution µs/op from pg_stat_statements):');
    for (const op of ops) console.log(`- ${op}: ${breakdownText(pgCosts[op], 6)}`);
  }

  const budget = UTILISATION * 1e6;
  const perShard = (op: OpName): number => budget / med(redisCosts[op], (x) => x.serverUs);
  const perCore = (op: OpName): number => budget / med(pgCosts[op], (x) => x.serverUs);
  console.log(`\n### Capacity at ${UTILISATION * 100} % utilisation (${fmt(budget)} CPU µs per second ÷ server CPU µs/op)\n`);
  console.log('| server | updates/s | jobs/s | events/s |');
  console.log('| --- | ---: | ---: | ---: |');
  console.log(`| one Redis shard (one master; commands run on one thread) | ${fmt(perShard('update'))} | ${fmt(perShard('job'))} | ${fmt(perShard('event'))} |`);
  console.log(`| one Postgres core | ${fmt(perCore('update'))} | ${fmt(perCore('job'))} | ${fmt(perCore('event'))} |`);

  const redisClientUs = med(redisCosts.update, (x) => x.clientUs);
  const pgClientUs = med(pgCosts.update, (x) => x.clientUs);
  const wal = med(pgCosts.update, (x) => x.walBytes);
  console.log(`\n### Fleet for a given rate of updates (sessions only; each at ${UTILISATION * 100} %)\n`);
  console.log('| updates/s | Redis shards | app cores on Redis | Postgres cores | app cores on Postgres | Postgres WAL |');
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const rate of TARGETS) {
    const mbs = (rate * wal) / 1e6;
    console.log(`| ${fmt(rate)} | ${Math.ceil(rate / perShard('update'))} | ${Math.ceil((rate * redisClientUs) / budget)} | ${Math.ceil(rate / perCore('update'))} | ${Math.ceil((rate * pgClientUs) / budget)} | ${mbs.toFixed(1)} MB/s |`);
  }
  console.log('(app cores: the bot process\'s CPU per update in this bench — grammY, botwire, the driver; your handler\'s own work comes on top)');

  if (!process.argv.includes('--no-scale')) {
    console.log(`\n### Redis Cluster: 1, 2 and 3 masters (no replicas), ${CLIENTS} client processes × ${CLIENT_IN_FLIGHT} updates in flight, 100,000 chats, ${SCALE_S} s each`);
    console.log(`(${loadLine()})\n`);
    const rows: ScaleRow[] = [];
    for (const m of [1, 2, 3]) rows.push(await scaleRun(m));
    console.log('| masters | updates/s (total) | CPU of each master (share of one core) | of which idle background per master | CPU of the 2 clients (cores) | server CPU µs/update (all masters) | without idle background | server commands/update | client CPU µs/update | capacity at 70 % per master × masters (updates/s) | errors |');
    console.log('| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      const busyUs = r.serverUs - (r.idleCpu * r.masters * 1e6) / r.updatesPerSec;
      console.log(`| ${r.masters} | ${fmt(r.updatesPerSec)} | ${r.masterCpu.map((c) => `${Math.round(c * 100)} %`).join(' / ')} | ${(r.idleCpu * 100).toFixed(1)} % | ${r.clientCores.toFixed(2)} | ${r.serverUs.toFixed(1)} | ${busyUs.toFixed(1)} | ${r.commands.toFixed(2)} | ${r.clientUs.toFixed(1)} | ${fmt(budget / r.serverUs)} × ${r.masters} = ${fmt((budget / r.serverUs) * r.masters)} | ${r.errors} |`);
    }
    const clientUs = median(rows.map((r) => r.clientUs));
    const first = rows[0]!;
    const last = rows[rows.length - 1]!;
    console.log(`\nOn ${os.cpus().length} cores the client processes and the masters share the same cores, and the clients need ~${fmt(clientUs)} µs of CPU per update against ~${fmt(median(rows.map((r) => r.serverUs)))} µs on the servers: the clients saturate the machine first, so the total cannot grow with masters here (${fmt(first.updatesPerSec)} → ${fmt(last.updatesPerSec)} updates/s from ${first.masters} to ${last.masters} masters). What it can show: how evenly the work splits over the masters (per-master CPU above), and the server CPU per update at each size (${first.serverUs.toFixed(1)} → ${last.serverUs.toFixed(1)} µs; the masters' idle background work, measured separately, explains ${(first.serverUs - (first.serverUs - (first.idleCpu * first.masters * 1e6) / first.updatesPerSec)).toFixed(1)} → ${(last.serverUs - (last.serverUs - (last.idleCpu * last.masters * 1e6) / last.updatesPerSec)).toFixed(1)} µs of it; the rest is most likely that the same load spread over more masters leaves each one less busy, so fewer commands share each wake-up and socket read: the per-update cost of a master near 70 % is the lower one). Capacity planned as masters × one master's at 70 % needs a core per master and clients enough to load each one.`);
  }
  console.log(`\ndone · ${loadLine()}`);
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
