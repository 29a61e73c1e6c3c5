/**
 * `npm run bench -- middleware [--quick] [--runs=N] [--updates=N] [--only=<name part>] [--backend=redis|postgres] [--observe]`
 *
 * Updates through real bots (`bot.handleUpdate`, no network) whose handler does a read-modify-write
 * on the session (`ctx.session.count++` with a yield in between), 100 chats, 50 updates in flight:
 * botwire `session()` ('serialize', 'optimistic') vs grammY's `session()` + @grammyjs/storage-redis /
 * @grammyjs/storage-psql, and Telegraf's `session()` + a durable store (botwire's store through
 * `telegrafStore`), on the same Redis and Postgres in the same run.
 *
 * Reported per implementation: updates/s, p50/p99 latency of `handleUpdate` and the latency added
 * over the same bot without sessions, client round trips per update, client and server CPU per
 * update (server: Redis `INFO cpu`; Postgres: its processes' times in /proc when it runs on this
 * machine), lost updates (successful updates whose increment is missing from the stored counters)
 * and SessionConflictErrors. `--observe` adds botwire 'serialize' with a pino logger and
 * OpenTelemetry installed, sampling off (bench/_observability.ts), interleaved with the plain one,
 * and a control: the plain one again under another name. Both share the plain one's client or
 * pool, so observability is the only difference; the control's gap to the plain row is this
 * machine's noise floor for the observed row's gap (on a second client, a second run of the very
 * same plain config measured up to 10 % slower on its own).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { PsqlAdapter } from '@grammyjs/storage-psql';
import { RedisAdapter } from '@grammyjs/storage-redis';
import { session as grammySession, type Context } from 'grammy';
import { Redis } from 'ioredis';
import pg from 'pg';
import { session as telegrafSession, type Context as TelegrafContext } from 'telegraf';
import { migrate, postgresSessionStore } from 'botwire/postgres';
import { redisSessionStore } from 'botwire/redis';
import { session, type SessionFlavor } from 'botwire/grammy';
import { telegrafStore } from 'botwire/telegraf';
import type { SessionStore } from 'botwire';
import { grammyBot, telegrafBot, textUpdate } from '../test/support/telegram.js';
import { observability, observe } from './_observability.js';
import { countingPg, countingRedis, median, percentile } from './_support.js';

const quick = process.argv.includes('--quick');
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHATS = 100;
const CONCURRENCY = 50;
const UPDATES = Number(process.argv.find((a) => a.startsWith('--updates='))?.slice('--updates='.length) ?? (quick ? 1_000 : 2_500));
// Many short runs rather than a few long ones: this machine's speed drifts by ±30 % within seconds,
// and medians (and the paired ratios printed under the table) over 12 runs hold steadier than over 5.
const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? (quick ? 1 : 12));
/** `--only=<text>`: run just the implementations whose name contains it (for profiling one). */
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
/** `--backend=redis|postgres`: run one backend only. */
const backendOnly = process.argv.find((a) => a.startsWith('--backend='))?.slice('--backend='.length).toLowerCase();

type Counter = { count: number };

/**
 * CPU seconds used so far by the local PostgreSQL server's processes (Linux /proc: user + system
 * time of every `postgres` process, plus the time of exited children credited to their parent), or
 * undefined where that cannot be read (another OS, a remote server).
 */
function postgresCpu(): number | undefined {
  let ticks = 0;
  let seen = false;
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      // Fields after "(comm)": state is field 3, utime/stime 14/15, cutime/cstime 16/17.
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
      seen = true;
    }
  } catch {
    return undefined;
  }
  return seen ? ticks / 100 : undefined; // USER_HZ is 100 on Linux
}
/** The backend server's CPU seconds so far (Redis: INFO cpu; a local Postgres: /proc), or undefined where we cannot see it. */
let serverCpu: (() => Promise<number>) | undefined;
type Handle = (update: unknown) => Promise<unknown>;

interface Impl {
  name: string;
  /** A fresh bot whose sessions live under `space` (so runs never share counters). */
  bot(space: string): Promise<Handle>;
  /** Sum of the counters stored for `base + 0 … base + CHATS - 1`. */
  total(space: string, base: number): Promise<number>;
  /** Commands/queries the client sent. */
  calls(): number;
  /** Backend round trips the updates waited for (botwire merges concurrent ones into one command); default = calls. */
  waits?(): number;
}

interface Result { impl: string; backend: string; rate: number; rates: number[]; p50: number; p99: number; added50: number; added99: number; rt: number; sent: number; lost: number; conflicts: number; errors: number; cpuUs: number; serverUs: number | undefined }

const increment = async (s: Counter): Promise<void> => {
  const n = s.count;
  await new Promise((r) => setImmediate(r));
  s.count = n + 1;
};

/** Deterministic pseudo-random chat per update (same sequence for every implementation). */
function chatSequence(seed: number): number[] {
  let x = seed;
  return Array.from({ length: UPDATES }, () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return (x >>> 8) % CHATS;
  });
}

async function drive(handle: Handle, base: number): Promise<{ rate: number; latencies: number[]; ok: number; conflicts: number; errors: number }> {
  const latencies: number[] = [];
  const chats = chatSequence(base);
  let next = 0;
  let ok = 0;
  let conflicts = 0;
  let errors = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < UPDATES) {
      const i = next++;
      const t0 = performance.now();
      try {
        await handle(textUpdate(base + chats[i]!, 'inc'));
        ok++;
      } catch (err) {
        const code = ((err as { error?: { code?: string } }).error ?? (err as { code?: string })).code;
        if (code === 'SESSION_CONFLICT') conflicts++;
        else { errors++; if (errors === 1) console.error(String(err)); }
      }
      latencies.push(performance.now() - t0);
    }
  }));
  return { rate: (UPDATES / (performance.now() - started)) * 1000, latencies, ok, conflicts, errors };
}

interface Tally { rates: number[]; latencies: number[]; lost: number; conflicts: number; errors: number; rt: number; sent: number; cpuUs: number[]; serverUs: number[] }

/** One run of one implementation, added to its tally. */
async function measureOnce(impl: Impl, tally: Tally, run: number): Promise<void> {
  const space = `r${run}_${Math.random().toString(36).slice(2, 7)}`;
  const handle = await impl.bot(space);
  const base = 10_000_000 + run * 1_000;
  const before = impl.calls();
  const waitsBefore = (impl.waits ?? impl.calls)();
  const server0 = await serverCpu?.();
  const cpu0 = process.cpuUsage();
  const result = await drive(handle, base);
  const cpu = process.cpuUsage(cpu0);
  const server1 = await serverCpu?.();
  tally.cpuUs.push((cpu.user + cpu.system) / UPDATES);
  if (server0 !== undefined && server1 !== undefined) tally.serverUs.push(((server1 - server0) * 1e6) / UPDATES);
  tally.sent = (impl.calls() - before) / UPDATES;
  tally.rt = ((impl.waits ?? impl.calls)() - waitsBefore) / UPDATES;
  tally.rates.push(result.rate);
  tally.latencies.push(...result.latencies);
  tally.lost += result.ok - (await impl.total(space, base));
  tally.conflicts += result.conflicts;
  tally.errors += result.errors;
}

/** Runs interleaved across implementations, so load drifting on the machine hits all of them alike. */
async function measureAll(backend: string, all: Impl[], baseline: { p50: number; p99: number }): Promise<Result[]> {
  const impls = backendOnly !== undefined && backendOnly !== backend.toLowerCase() ? [] : only === undefined ? all : all.filter((i) => i.name.includes(only));
  const tallies = impls.map((): Tally => ({ rates: [], latencies: [], lost: 0, conflicts: 0, errors: 0, rt: 0, sent: 0, cpuUs: [], serverUs: [] }));
  // One unmeasured run each first: every implementation is measured with its code paths JIT-compiled,
  // as in a long-running bot (otherwise whoever runs first pays for warming up ioredis/pg and grammY).
  for (const impl of impls) await measureOnce(impl, { rates: [], latencies: [], lost: 0, conflicts: 0, errors: 0, rt: 0, sent: 0, cpuUs: [], serverUs: [] }, RUNS);
  // The order rotates and flips from run to run: with a fixed order, each implementation always
  // inherited the same predecessor's garbage and the same slot in the machine's load pattern; with
  // flips alone, the middle ones never followed themselves while the ends did every other round
  // (two identical configs measured 6 % apart in paired runs, by slot alone).
  for (let r = 0; r < RUNS; r++) {
    const order = impls.map((_, i) => (i + r) % impls.length);
    if (r % 2) order.reverse();
    for (const i of order) await measureOnce(impls[i]!, tallies[i]!, r);
  }
  return impls.map((impl, i) => {
    const t = tallies[i]!;
    const p50 = percentile(t.latencies, 50);
    const p99 = percentile(t.latencies, 99);
    return {
      impl: impl.name, backend, rate: median(t.rates), rates: t.rates, p50, p99, added50: p50 - baseline.p50, added99: p99 - baseline.p99,
      rt: t.rt, sent: t.sent, lost: t.lost, conflicts: t.conflicts, errors: t.errors,
      cpuUs: median(t.cpuUs), serverUs: t.serverUs.length ? median(t.serverUs) : undefined,
    };
  });
}

async function baselineLatency(): Promise<{ p50: number; p99: number }> {
  const bot = grammyBot();
  bot.on('message', async () => { await new Promise((r) => setImmediate(r)); });
  const run = await drive((u) => bot.handleUpdate(u as never), 20_000_000);
  return { p50: percentile(run.latencies, 50), p99: percentile(run.latencies, 99) };
}

/**
 * Count the backend calls a store makes: each is one round trip its caller waits for. The methods
 * are wrapped once per backend class, not per store: fresh closures on every store's instance made
 * the store's call sites polymorphic and cost botwire ~2 µs of CPU per update in paired runs.
 */
let backendCalls = 0;
const counted = new WeakSet<object>();
function countingStore(store: SessionStore<unknown>): SessionStore<unknown> {
  const proto = Object.getPrototypeOf(store.backend) as Record<string, unknown>;
  if (counted.has(proto)) return store;
  counted.add(proto);
  for (const m of ['get', 'set', 'delete', 'touch', 'acquire', 'commit', 'extend', 'release']) {
    const f = proto[m] as (this: unknown, ...a: unknown[]) => Promise<unknown>;
    proto[m] = function (this: unknown, ...a: unknown[]) { backendCalls++; return f.apply(this, a); };
  }
  return store;
}

/**
 * An implementation whose sessions live in a botwire store (backend calls counted): `makeBot` wires
 * the framework's middleware to it, `keyOf` is that framework's key for a chat.
 */
function storeImpl(
  name: string, makeStore: (space: string) => SessionStore<unknown>, calls: () => number,
  makeBot: (store: SessionStore<unknown>) => Handle, keyOf: (chat: number) => string,
): Impl {
  const stores = new Map<string, SessionStore<unknown>>();
  return {
    name,
    calls,
    waits: () => backendCalls,
    async bot(space) {
      const store = countingStore(makeStore(space));
      stores.set(space, store);
      return makeBot(store);
    },
    async total(space, base) {
      const records = await stores.get(space)!.getMany(Array.from({ length: CHATS }, (_, i) => keyOf(base + i)));
      return records.reduce((s, r) => s + ((r?.data as Counter | undefined)?.count ?? 0), 0);
    },
  };
}

function botwireImpl(
  name: string, mode: 'serialize' | 'optimistic', makeStore: (space: string) => SessionStore<unknown>, calls: () => number, observed = false,
): Impl {
  // One logger and telemetry for all of this implementation's bots, as a process has one (not a
  // fresh pino instance and fresh OpenTelemetry providers for every run's bot).
  const observing = observed ? observability() : {};
  return storeImpl(name, makeStore, calls, (store) => {
    const bot = grammyBot<Context & SessionFlavor<Counter>>();
    bot.use(session({ store, initial: () => ({ count: 0 }), concurrency: mode, waitMs: 60_000, ...observing }));
    bot.on('message', (ctx) => increment(ctx.session));
    return (u) => bot.handleUpdate(u as never);
  }, String);
}

/**
 * `--observe`: botwire 'serialize' with logger and telemetry, and a control without them, both on
 * the plain row's client (so a client of their own cannot masquerade as the cost of observing).
 */
function observedImpls(makeStore: (space: string) => SessionStore<unknown>, calls: () => number): Impl[] {
  return [
    botwireImpl('botwire serialize +log +otel (sampling off)', 'serialize', makeStore, calls, true),
    botwireImpl('botwire serialize, plain again (noise control)', 'serialize', makeStore, calls),
  ];
}

function telegrafImpl(name: string, makeStore: (space: string) => SessionStore<unknown>, calls: () => number): Impl {
  return storeImpl(name, makeStore, calls, (store) => {
    const bot = telegrafBot<TelegrafContext & { session: Counter }>();
    bot.use(telegrafSession({ store: telegrafStore(store as SessionStore<Counter>), defaultSession: () => ({ count: 0 }) }));
    bot.on('message', (ctx) => increment(ctx.session));
    return (u) => bot.handleUpdate(u as never);
  }, (chat) => `${chat}:${chat}`);
}

/**
 * In-process per-chat queue, like @grammyjs/runner's `sequentialize`: grammY's documented fix for
 * lost updates. It only orders updates inside one process.
 */
function sequentialize(): (ctx: Context, next: () => Promise<void>) => Promise<void> {
  const tails = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const key = String(ctx.chat?.id);
    const previous = tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((r) => { done = r; });
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    await previous;
    try { await next(); } finally {
      done();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

function grammyPeerImpl(name: string, storage: (space: string) => Promise<{ read(k: string): Promise<Counter | undefined> } & object>, calls: () => number, sequential = false): Impl {
  const storages = new Map<string, { read(k: string): Promise<Counter | undefined> }>();
  return {
    name,
    calls,
    async bot(space) {
      const adapter = await storage(space);
      storages.set(space, adapter);
      const bot = grammyBot<Context & { session: Counter }>();
      if (sequential) bot.use(sequentialize());
      bot.use(grammySession({ initial: () => ({ count: 0 }), storage: adapter as never }));
      bot.on('message', (ctx) => increment(ctx.session));
      return (u) => bot.handleUpdate(u as never);
    },
    async total(space, base) {
      const s = storages.get(space)!;
      let sum = 0;
      for (let i = 0; i < CHATS; i++) sum += (await s.read(String(base + i)))?.count ?? 0;
      return sum;
    },
  };
}

/** @grammyjs/storage-redis with its keys under `bench:mw:<space>:` (it has no prefix option), so runs never share counters. */
function storageRedis(client: Redis, space: string): { read(k: string): Promise<Counter | undefined>; write(k: string, v: Counter): Promise<void>; delete(k: string): Promise<void> } {
  const adapter = new RedisAdapter<Counter>({ instance: client, ttl: 3600 });
  return {
    read: (k: string) => adapter.read(`bench:mw:${space}:${k}`) as Promise<Counter | undefined>,
    write: (k: string, v: Counter) => adapter.write(`bench:mw:${space}:${k}`, v),
    delete: (k: string) => adapter.delete(`bench:mw:${space}:${k}`),
  };
}

function print(rows: Result[]): void {
  console.log(`\n${UPDATES} updates × ${RUNS} runs, ${CHATS} chats, ${CONCURRENCY} in flight; latency = bot.handleUpdate, "added" = minus the same bot without sessions.\n`);
  console.log('| backend | implementation | updates/s | p50 ms | p99 ms | added p50 ms | added p99 ms | round trips/update | commands sent/update | client CPU µs/update | server CPU µs/update | lost updates | conflicts | serialize ÷ this |');
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const ours = rows.find((x) => x.backend === r.backend && x.impl.includes("'serialize'"));
    const ratio = ours ? `${(ours.rate / r.rate).toFixed(2)}×` : '—';
    console.log(`| ${r.backend} | ${r.impl} | ${Math.round(r.rate).toLocaleString('en-US')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.added50.toFixed(2)} | ${r.added99.toFixed(2)} | ${r.rt.toFixed(2)} | ${r.sent.toFixed(2)} | ${Math.round(r.cpuUs)} | ${r.serverUs === undefined ? '—' : Math.round(r.serverUs)} | ${r.lost} | ${r.conflicts} | ${ratio} |${r.errors ? ` (${r.errors} other errors)` : ''}`);
  }
  // Runs of one round are neighbours in time, so their ratio cancels most of the machine's drift.
  console.log('\nserialize ÷ this, per round (runs next to each other in time), median first:');
  for (const r of rows) {
    const ours = rows.find((x) => x.backend === r.backend && x.impl.includes("'serialize'"));
    if (!ours || ours === r) continue;
    const pairs = r.rates.map((x, i) => ours.rates[i]! / x);
    console.log(`${r.backend} ${r.impl}: ${median(pairs).toFixed(2)}× [${pairs.map((x) => x.toFixed(2)).join(' ')}]`);
  }
}

async function main(): Promise<void> {
  const baseline = await baselineLatency();
  console.log(`baseline (no session middleware): p50 ${baseline.p50.toFixed(2)} ms, p99 ${baseline.p99.toFixed(2)} ms`);
  const rows: Result[] = [];

  // Redis: each implementation gets its own counted client.
  const clients: Redis[] = [];
  const redis = (): ReturnType<typeof countingRedis> => { const c = countingRedis(new Redis(REDIS_URL)); clients.push(c.client); return c; };
  const rSer = redis();
  const rOpt = redis();
  const rGrammy = redis();
  const rTelegraf = redis();
  const rSeq = redis();
  const redisStores: Array<SessionStore<unknown>> = [];
  const rStore = (client: Redis) => (space: string) => { const s = redisSessionStore({ client, prefix: `bench:mw:${space}:` }); redisStores.push(s); return s; };
  const redisImpls: Impl[] = [
    botwireImpl("botwire 'serialize'", 'serialize', rStore(rSer.client), rSer.calls),
    botwireImpl("botwire 'optimistic'", 'optimistic', rStore(rOpt.client), rOpt.calls),
    grammyPeerImpl('grammY session() + @grammyjs/storage-redis', async (space) => storageRedis(rGrammy.client, space), rGrammy.calls),
    grammyPeerImpl('grammY session() + storage-redis + in-process sequentialize', async (space) => storageRedis(rSeq.client, space), rSeq.calls, true),
    telegrafImpl('Telegraf session() + Redis store (telegrafStore)', rStore(rTelegraf.client), rTelegraf.calls),
    ...(observe ? observedImpls(rStore(rSer.client), rSer.calls) : []),
  ];
  const info = new Redis(REDIS_URL);
  clients.push(info);
  serverCpu = async () => {
    const text = await info.info('cpu');
    return Number(/used_cpu_user:([\d.]+)/.exec(text)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(text)?.[1]);
  };
  rows.push(...(await measureAll('Redis', redisImpls, baseline)));
  serverCpu = undefined;

  // Postgres: one counted pool per implementation.
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  const schema = 'bench_mw';
  await migrate(admin, { schema });
  const pools: pg.Pool[] = [];
  const pool = (): ReturnType<typeof countingPg> => { const c = countingPg(new pg.Pool({ connectionString: DATABASE_URL, max: 8 })); pools.push(c.client); return c; };
  const pSer = pool();
  const pOpt = pool();
  const pGrammy = pool();
  const pTelegraf = pool();
  const pSeq = pool();
  const pgStores: Array<SessionStore<unknown>> = [];
  const pStore = (client: pg.Pool) => (space: string) => { const s = postgresSessionStore({ client, schema, prefix: `${space}:` }); pgStores.push(s); return s; };
  const pgImpls: Impl[] = [
    botwireImpl("botwire 'serialize'", 'serialize', pStore(pSer.client), pSer.calls),
    botwireImpl("botwire 'optimistic'", 'optimistic', pStore(pOpt.client), pOpt.calls),
    grammyPeerImpl('grammY session() + @grammyjs/storage-psql', async (space) => {
      const adapter = await PsqlAdapter.create({ tableName: `bench_mw_grammy_${space}`, client: pGrammy.client as never });
      return adapter as never;
    }, pGrammy.calls),
    grammyPeerImpl('grammY session() + storage-psql + in-process sequentialize', async (space) => {
      const adapter = await PsqlAdapter.create({ tableName: `bench_mw_grammy_seq_${space}`, client: pSeq.client as never });
      return adapter as never;
    }, pSeq.calls, true),
    telegrafImpl('Telegraf session() + Postgres store (telegrafStore)', pStore(pTelegraf.client), pTelegraf.calls),
    ...(observe ? observedImpls(pStore(pSer.client), pSer.calls) : []),
  ];
  serverCpu = postgresCpu() === undefined ? undefined : async () => postgresCpu()!;
  rows.push(...(await measureAll('Postgres', pgImpls, baseline)));
  serverCpu = undefined;

  print(rows);

  await Promise.all([...redisStores, ...pgStores].map((s) => s.close()));
  const cleanup = new Redis(REDIS_URL);
  const keys = await cleanup.keys('bench:mw:*');
  for (let i = 0; i < keys.length; i += 500) await cleanup.del(...keys.slice(i, i + 500));
  await cleanup.quit();
  await Promise.all(clients.map((c) => c.quit()));
  const { rows: tables } = await admin.query<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE tablename LIKE 'bench_mw_grammy_%'");
  for (const t of tables) await admin.query(`DROP TABLE "${t.tablename}"`);
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await Promise.all([...pools, admin].map((p) => p.end()));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
