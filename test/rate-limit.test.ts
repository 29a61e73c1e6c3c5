import type { PGlite } from '@electric-sql/pglite';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotError, type Context } from 'grammy';
import { memoryRateLimitStore } from '../adapters/memory/index.js';
import { postgresRateLimitStore } from '../adapters/postgres/index.js';
import { redisRateLimitStore } from '../adapters/redis/index.js';
import { supabaseRateLimitStore } from '../adapters/supabase/index.js';
import { rateLimit } from '../integrations/grammy/index.js';
import { rateLimit as telegrafRateLimit } from '../integrations/telegraf/index.js';
import { decideHit } from '../src/rate-limit/rate-limit-backend.js';
import type { RateLimitStore } from '../src/rate-limit/rate-limit-store.js';
import { BackendUnavailableError, BotwireConfigError } from '../src/errors.js';
import type { LogFields } from '../src/logger.js';
import { grammyBot, telegrafBot, textUpdate, inlineQueryUpdate } from './support/telegram.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { needs, REDIS_URL, uniqueName } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';
import type { Update } from 'telegraf/types';

const user = (): number => 1 + Math.floor(Math.random() * 2_000_000_000);

describe('rate-limit window rule', () => {
  it('fixed: counts allowed hits per window and starts over in the next one', () => {
    let state;
    const results: boolean[] = [];
    for (const t of [0, 10, 20, 30]) {
      const r = decideHit(state, 1_000_000 + t, 3, 1_000, false);
      state = r.next;
      results.push(r.hit.allowed);
    }
    expect(results).toEqual([true, true, true, false]);
    expect(decideHit(state, 1_001_000, 3, 1_000, false).hit).toMatchObject({ allowed: true, count: 1 });
  });

  it('sliding: the previous window still weighs at the start of the next', () => {
    let state;
    for (let i = 0; i < 3; i++) state = decideHit(state, 1_000_900, 3, 1_000, true).next;
    // 10% into the next window, 90% of the previous window's 3 hits still count: floor(2.7) = 2.
    expect(decideHit(state, 1_001_100, 3, 1_000, true).hit).toMatchObject({ allowed: true, count: 3 });
    expect(decideHit(state, 1_001_100, 3, 1_000, false).hit).toMatchObject({ allowed: true, count: 1 });
    // Late in the next window the previous one has faded.
    expect(decideHit(state, 1_001_950, 3, 1_000, true).hit).toMatchObject({ allowed: true, count: 1 });
  });

  it('rejects nonsensical limits with a config error', () => {
    expect(() => rateLimit({ store: memoryRateLimitStore(), limit: 0, windowMs: 1_000 })).toThrow(BotwireConfigError);
    expect(() => rateLimit({ limit: 1, windowMs: 1_000 })).toThrow(/store/);
  });
});

function rateLimitSuite(name: string, make: () => RateLimitStore, counted?: () => number) {
  describe(`rateLimit() on ${name}`, () => {
    it('lets `limit` updates per user through a grammY bot, then calls onLimited', async () => {
      const store = make();
      const bot = grammyBot();
      const limited: number[] = [];
      let handled = 0;
      bot.use(rateLimit({ store, limit: 3, windowMs: 60_000, onLimited: (_ctx, hit) => { limited.push(hit.count); } }));
      bot.on('message', () => { handled++; });
      const u = user();
      const before = counted?.();
      for (let i = 0; i < 5; i++) await bot.handleUpdate(textUpdate(u, `m${i}`));
      if (before !== undefined) expect(counted!() - before).toBe(5); // one round trip per update
      expect(handled).toBe(3);
      expect(limited).toEqual([3, 3]);
      await bot.handleUpdate(textUpdate(user(), 'someone else'));
      expect(handled).toBe(4);
    });

    it('is atomic: 40 concurrent updates across two instances let exactly `limit` through', async () => {
      const [a, b] = [make(), make()];
      let handled = 0;
      const bots = [a, b].map((store) => {
        const bot = grammyBot();
        bot.use(rateLimit({ store, limit: 10, windowMs: 60_000 }));
        bot.on('message', () => { handled++; });
        return bot;
      });
      const u = user();
      await Promise.all(Array.from({ length: 40 }, (_, i) => bots[i % 2]!.handleUpdate(textUpdate(u, 'x'))));
      expect(handled).toBe(10);
    });

    it('opens again once the window has passed', async () => {
      const store = make();
      const u = String(user());
      const hits = [];
      // Windows are aligned to multiples of windowMs (server clock = this machine's): start just after a boundary.
      await new Promise((r) => setTimeout(r, 400 - (Date.now() % 400) + 10));
      for (let i = 0; i < 3; i++) hits.push((await store.hit(u, { limit: 2, windowMs: 400 })).allowed);
      expect(hits).toEqual([true, true, false]);
      await new Promise((r) => setTimeout(r, 850)); // two windows: even the sliding estimate is empty
      expect((await store.hit(u, { limit: 2, windowMs: 400, sliding: true })).allowed).toBe(true);
    });

    it('works as Telegraf middleware, and lets updates without a sender through uncounted', async () => {
      const store = make();
      const bot = telegrafBot();
      let handled = 0;
      bot.use(telegrafRateLimit({ store, limit: 1, windowMs: 60_000 }));
      bot.on('message', () => { handled++; });
      bot.on('inline_query', () => { handled += 100; });
      const u = user();
      await bot.handleUpdate(textUpdate(u, 'a') as Update);
      await bot.handleUpdate(textUpdate(u, 'b') as Update);
      expect(handled).toBe(1);
      const keyless = grammyBot();
      keyless.use(rateLimit({ store, limit: 1, windowMs: 60_000, key: () => undefined }));
      let passed = 0;
      keyless.on('inline_query', () => { passed++; });
      await keyless.handleUpdate(inlineQueryUpdate(u));
      await keyless.handleUpdate(inlineQueryUpdate(u));
      expect(passed).toBe(2);
    });
  });
}

rateLimitSuite('memory', (() => { const shared = memoryRateLimitStore(); return () => shared; })());

describe('rateLimit() backend failures', () => {
  const down = { name: 'test', hit: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })) };
  it("fails open by default with a warning, or fails the update with onBackendError: 'fail'", async () => {
    const warnings: Array<{ fields: LogFields; message: string }> = [];
    const open = grammyBot<Context>();
    let handled = 0;
    open.use(rateLimit({ backend: down, limit: 1, windowMs: 1_000, logger: { warn: (fields, message) => { warnings.push({ fields, message }); } } }));
    open.on('message', () => { handled++; });
    await open.handleUpdate(textUpdate(user(), 'x'));
    expect(handled).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.fields).toMatchObject({ key: expect.any(String), error: { code: 'BACKEND_UNAVAILABLE' } });
    const closed = grammyBot<Context>();
    closed.use(rateLimit({ backend: down, limit: 1, windowMs: 1_000, onBackendError: 'fail' }));
    closed.on('message', () => { handled++; });
    const err = await closed.handleUpdate(textUpdate(user(), 'x')).catch((e: unknown) => e);
    expect((err as BotError).error).toBeInstanceOf(BackendUnavailableError);
    expect(handled).toBe(1);
  });
});

describe.runIf(await needs('redis'))('on Redis', () => {
  const client = new Redis(REDIS_URL);
  let calls = 0;
  const counting = Object.assign(Object.create(client) as Redis, {
    evalsha: (...args: Parameters<Redis['evalsha']>) => { calls++; return client.evalsha(...args); },
  });
  const prefix = `${uniqueName('rl')}:`;
  afterAll(async () => { await client.quit(); });
  rateLimitSuite('Redis', () => redisRateLimitStore({ client: counting, prefix }), () => calls);
});

describe.runIf(await needs('postgres'))('on Postgres', () => {
  let db: PgSchema<pg.Pool>;
  let pool: pg.Pool;
  let schema: string;
  let calls = 0;
  const counting = { query: (text: string, params?: unknown[]) => { calls++; return pool.query(text, params); } };
  beforeAll(async () => {
    db = await withPgSchema('bw_rl', { max: 6 });
    ({ client: pool, schema } = db);
  });
  afterAll(() => db?.drop());
  rateLimitSuite('Postgres', () => postgresRateLimitStore({ client: counting, schema }), () => calls);

  it('cleanup removes counters whose windows are over', async () => {
    const store = postgresRateLimitStore({ client: pool, schema });
    await store.hit(`gone-${user()}`, { limit: 5, windowMs: 50 });
    await new Promise((r) => setTimeout(r, 200));
    const { rows } = await pool.query(`SELECT "${schema}".rate_limit_cleanup(1000) AS n`);
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
  });
});

describe('on PGlite', () => {
  let db: PgSchema<PGlite>;
  beforeAll(async () => { db = await withPgSchema('botwire', { pglite: true }); }, 60_000);
  afterAll(() => db?.drop());
  rateLimitSuite('PGlite', () => postgresRateLimitStore({ client: db.client }));
});

describe.runIf(await needs('postgres'))('on Supabase (supabase-js → PostgREST double → Postgres)', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_rl_supa'); });
  afterAll(() => s?.drop());
  // One HTTP request per hit, counted at the double.
  rateLimitSuite('Supabase', () => supabaseRateLimitStore({ client: s.client, schema: s.schema }), () => s.double.requests.byRoute.get('POST /rpc/rate_limit_hit') ?? 0);
});
