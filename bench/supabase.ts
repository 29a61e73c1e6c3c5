/**
 * `npm run bench -- supabase [--quick] [--runs=N] [--updates=N]`
 *
 * Sessions on Supabase through supabase-js, both sides through the same PostgREST double
 * (test/support/postgrest.ts) on the same Postgres in the same run: grammY bots (`bot.handleUpdate`,
 * no network to Telegram) whose handler does a read-modify-write (`ctx.session.count++` with a yield
 * in between), 100 chats, 50 updates in flight —
 * - botwire `session()` ('serialize', and 'optimistic') + `supabaseSessionStore` (rpc into the SQL
 *   functions), and
 * - grammY's `session()` + `@grammyjs/storage-supabase` (select/upsert on a table; the double serves
 *   those few table routes for this bench only).
 *
 * Reported per implementation: updates/s (median over runs; implementations interleave, order
 * flipping every run), p50/p99 of `handleUpdate`, HTTP requests per update (counted by the double),
 * lost updates (successful updates whose increment is missing from the stored counters),
 * SessionConflictErrors ('optimistic' refuses a stale write instead of losing it) and other errors.
 * The double runs in this process, so its CPU is shared with the bots alike for every implementation.
 */
import { supabaseAdapter } from '@grammyjs/storage-supabase';
import { session as grammySession, type Context } from 'grammy';
import pg from 'pg';
import { migrate } from 'botwire/postgres';
import { session, type SessionFlavor } from 'botwire/grammy';
import { supabaseSessionStore } from 'botwire/supabase';
import { ensureSupabaseRoles, startPostgrest, supabaseClientFor } from '../test/support/postgrest.js';
import { grammyBot, textUpdate } from '../test/support/telegram.js';
import { median, percentile } from './_support.js';

const quick = process.argv.includes('--quick');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHATS = 100;
const CONCURRENCY = 50;
const UPDATES = Number(process.argv.find((a) => a.startsWith('--updates='))?.slice('--updates='.length) ?? (quick ? 500 : 2_000));
const RUNS = Number(process.argv.find((a) => a.startsWith('--runs='))?.slice('--runs='.length) ?? (quick ? 1 : 8));

type Counter = { count: number };
type Handle = (update: unknown) => Promise<unknown>;

interface Impl {
  name: string;
  /** A fresh bot whose sessions live under `space` (so runs never share counters). */
  bot(space: string): Handle;
  /** Sum of the counters stored for chats `base … base + CHATS - 1` under `space`. */
  total(space: string, base: number): Promise<number>;
}

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

async function main(): Promise<void> {
  const schema = `bench_supa_${Math.random().toString(36).slice(2, 8)}`;
  const peer = `${schema}_peer`;
  const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
  await ensureSupabaseRoles(async (text) => admin.query(text));
  await migrate(admin, { schema });
  // The peer's table, as its README sets it up (id text primary key, session text), reachable by the service role.
  await admin.query(`CREATE SCHEMA "${peer}"; CREATE TABLE "${peer}".sessions (id text PRIMARY KEY, session text);
    GRANT USAGE ON SCHEMA "${peer}" TO service_role; GRANT SELECT, INSERT, UPDATE, DELETE ON "${peer}".sessions TO service_role`);
  const double = await startPostgrest({ databaseUrl: DATABASE_URL, schemas: [schema, peer], createRoles: false });
  const ours = supabaseClientFor(double, double.serviceKey, { schema });
  const theirs = supabaseClientFor(double, double.serviceKey, { schema: peer });

  const keyOf = (space: string, chat: number): string => `${space}:${chat}`;
  const botwire = (mode: 'serialize' | 'optimistic'): Impl => ({
    name: `botwire session() '${mode}' + supabaseSessionStore`,
    bot(space) {
      const store = supabaseSessionStore<Counter>({ client: ours, schema });
      const bot = grammyBot<Context & SessionFlavor<Counter>>();
      bot.use(session({ store, initial: () => ({ count: 0 }), concurrency: mode, waitMs: 60_000, getSessionKey: (ctx) => (ctx.chat ? keyOf(space, ctx.chat.id) : undefined) }));
      bot.on('message', (ctx) => increment(ctx.session));
      return (u) => bot.handleUpdate(u as never);
    },
    async total(space, base) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT coalesce(sum((data->>'count')::int), 0)::int AS n FROM "${schema}".sessions WHERE key = ANY ($1)`,
        [Array.from({ length: CHATS }, (_, i) => keyOf(space, base + i))]);
      return rows[0]!.n;
    },
  });
  const grammyPeer: Impl = {
    name: "grammY session() + @grammyjs/storage-supabase",
    bot(space) {
      const bot = grammyBot<Context & { session: Counter }>();
      bot.use(grammySession({
        initial: () => ({ count: 0 }), storage: supabaseAdapter<Counter>({ supabase: theirs as never, table: 'sessions' }),
        getSessionKey: (ctx) => (ctx.chat ? keyOf(space, ctx.chat.id) : undefined),
      }));
      bot.on('message', (ctx) => increment(ctx.session));
      return (u) => bot.handleUpdate(u as never);
    },
    async total(space, base) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT coalesce(sum((session::jsonb->>'count')::int), 0)::int AS n FROM "${peer}".sessions WHERE id = ANY ($1)`,
        [Array.from({ length: CHATS }, (_, i) => keyOf(space, base + i))]);
      return rows[0]!.n;
    },
  };
  const impls = [botwire('serialize'), botwire('optimistic'), grammyPeer];

  interface Tally { rates: number[]; latencies: number[]; lost: number; conflicts: number; errors: number; requests: number[]; routes: Map<string, number> }
  const tallies = impls.map((): Tally => ({ rates: [], latencies: [], lost: 0, conflicts: 0, errors: 0, requests: [], routes: new Map() }));
  const once = async (impl: Impl, tally: Tally, run: number): Promise<void> => {
    const space = `r${run}_${Math.random().toString(36).slice(2, 7)}`;
    const handle = impl.bot(space);
    const base = 10_000_000 + run * 1_000;
    double.resetRequests();
    const result = await drive(handle, base);
    tally.requests.push(double.requests.total / UPDATES);
    for (const [route, n] of double.requests.byRoute) tally.routes.set(route, (tally.routes.get(route) ?? 0) + n);
    tally.rates.push(result.rate);
    tally.latencies.push(...result.latencies);
    tally.lost += result.ok - (await impl.total(space, base));
    tally.conflicts += result.conflicts;
    tally.errors += result.errors;
  };
  try {
    // One unmeasured run each first (JIT, connection pools).
    for (const impl of impls) await once(impl, { rates: [], latencies: [], lost: 0, conflicts: 0, errors: 0, requests: [], routes: new Map() }, RUNS);
    for (let r = 0; r < RUNS; r++) {
      const order = impls.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) await once(impls[i]!, tallies[i]!, r);
    }
  } finally {
    await double.close();
    await admin.query(`DROP SCHEMA "${schema}" CASCADE; DROP SCHEMA "${peer}" CASCADE`);
    await admin.end();
  }

  const peerRate = median(tallies[2]!.rates);
  console.log(`\n${UPDATES} updates × ${RUNS} runs, ${CHATS} chats, ${CONCURRENCY} in flight; supabase-js 2.109 → PostgREST double (same process) → Postgres.\n`);
  console.log('| implementation | updates/s | p50 ms | p99 ms | HTTP requests/update | lost updates | conflicts | other errors | ÷ peer updates/s |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  impls.forEach((impl, i) => {
    const t = tallies[i]!;
    const rate = median(t.rates);
    console.log(`| ${impl.name} | ${Math.round(rate).toLocaleString('en-US')} | ${percentile(t.latencies, 50).toFixed(1)} | ${percentile(t.latencies, 99).toFixed(1)} | ${median(t.requests).toFixed(2)} | ${t.lost} | ${t.conflicts} | ${t.errors} | ${(rate / peerRate).toFixed(2)}× |`);
  });
  console.log('\nrequests by route over all measured runs:');
  impls.forEach((impl, i) => {
    console.log(`${impl.name}: ${[...tallies[i]!.routes].map(([r, n]) => `${r} ${n}`).join(', ')}`);
  });
  console.log('\nbotwire ÷ peer updates/s, per run (runs next to each other in time):');
  for (const i of [0, 1]) {
    const pairs = tallies[i]!.rates.map((r, k) => r / tallies[2]!.rates[k]!);
    console.log(`${impls[i]!.name}: ${median(pairs).toFixed(2)}× [${pairs.map((x) => x.toFixed(2)).join(' ')}]`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
