import type { Context, MiddlewareFn } from 'telegraf';
import { createRateLimitMiddleware, type RateLimitOptions } from '../../src/rate-limit/rate-limit-middleware.js';

/**
 * Rate limiting for Telegraf, shared by every instance through the store: at most `limit` updates
 * per `windowMs` per key (default: the sender), one atomic round trip per update.
 *
 * @example
 * ```ts
 * bot.use(rateLimit({ store: redisRateLimitStore({ url }), limit: 10, windowMs: 60_000,
 *   onLimited: (ctx) => ctx.reply('Slow down a little.') }));
 * ```
 */
export function rateLimit<C extends Context = Context>(options: RateLimitOptions<C>): MiddlewareFn<C> {
  return createRateLimitMiddleware<C>(options, (ctx) => ctx.from?.id.toString());
}
