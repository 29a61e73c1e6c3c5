/**
 * The rate-limit suite every store passes (grammY and Telegraf middleware over a real store), shared
 * by the per-backend test files.
 */
import { describe, expect, it } from 'vitest';
import { rateLimit } from '../../integrations/grammy/index.js';
import { rateLimit as telegrafRateLimit } from '../../integrations/telegraf/index.js';
import type { RateLimitStore } from '../../src/rate-limit/rate-limit-store.js';
import { grammyBot, telegrafBot, textUpdate, inlineQueryUpdate } from './telegram.js';
import type { Update } from 'telegraf/types';

const HOUR = 3_600_000;

const user = (): number => 1 + Math.floor(Math.random() * 2_000_000_000);

/** Middleware behaviour of `make()`'s store; `counted` (store calls so far) proves one round trip per update. */
export function rateLimitSuite(name: string, make: () => RateLimitStore, counted?: () => number) {
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
        bot.use(rateLimit({ store, limit: 10, windowMs: HOUR }));
        bot.on('message', () => { handled++; });
        return bot;
      });
      // Fixed windows are aligned to multiples of windowMs: a burst that straddles a boundary
      // rightly lets `limit` through on each side, so keep the burst clear of one.
      const left = HOUR - (Date.now() % HOUR);
      if (left < 15_000) await new Promise((r) => setTimeout(r, left + 50));
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
