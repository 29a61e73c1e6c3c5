import type { Context, MiddlewareFn } from 'telegraf';
import { createSessionMiddleware } from '../../src/session/session-engine.js';
import type { MultiSessionOptions, SessionPartOptions, SingleSessionOptions } from '../../src/session/session-options.js';

/**
 * Context flavor for `ctx.session`: `type MyContext = Context & SessionFlavor<MySession>`.
 * Setting `ctx.session = null` deletes it. `undefined` on updates without a session key.
 */
export interface SessionFlavor<S> {
  get session(): S;
  set session(session: S | null | undefined);
}

/** Context flavor of a `lazy: true` session: read it with `await ctx.session`. */
export interface LazySessionFlavor<S> {
  get session(): Promise<S>;
  set session(session: S | null | undefined);
}

/** Options of {@link session}: the botwire options, plus Telegraf's own `property` and `defaultSession`. */
export interface TelegrafSessionOptions<S, C extends Context = Context> extends SingleSessionOptions<S, C> {
  /** Property on the context. @default 'session' */
  property?: string;
  /** Telegraf's name for `initial`; used when `initial` is not given. */
  defaultSession?: (ctx: C) => S;
}
/** Options of {@link session} with `type: 'multi'`. */
export interface TelegrafMultiSessionOptions<P extends Record<string, unknown>, C extends Context = Context> extends MultiSessionOptions<P, C> {
  /** Property on the context. @default 'session' */
  property?: string;
}
/** Options of one part of a multi-session. */
export type TelegrafSessionPartOptions<S, C extends Context = Context> = SessionPartOptions<S, C>;

// Telegraf's own default: one session per user per chat.
const defaultKey = (ctx: Context): string | undefined =>
  ctx.from && ctx.chat ? `${ctx.from.id}:${ctx.chat.id}` : undefined;

/**
 * Session middleware for Telegraf that loses no update across instances: by default each update
 * runs under a fleet-wide lease on its session (1 round trip to load, 1 to save), writes only when
 * the session changed, and hands the lease on to the next queued update in this process.
 *
 * @example
 * ```ts
 * import { Telegraf, type Context } from 'telegraf';
 * import { session, type SessionFlavor } from 'botwire/telegraf';
 * import { redisSessionStore } from 'botwire/redis';
 *
 * type MyContext = Context & SessionFlavor<{ count: number }>;
 * const bot = new Telegraf<MyContext>(token);
 * bot.use(session({ store: redisSessionStore({ url: process.env.REDIS_URL! }), initial: () => ({ count: 0 }) }));
 * bot.on('message', (ctx) => ctx.reply(String(++ctx.session.count)));
 * ```
 */
export function session<S, C extends Context = Context>(options: TelegrafSessionOptions<S, C> & { lazy?: false }): MiddlewareFn<C & SessionFlavor<S>>;
export function session<S, C extends Context = Context>(options: TelegrafSessionOptions<S, C> & { lazy: true }): MiddlewareFn<C & LazySessionFlavor<S>>;
export function session<P extends Record<string, unknown>, C extends Context = Context>(
  options: TelegrafMultiSessionOptions<P, C> & { lazy?: false },
): MiddlewareFn<C & SessionFlavor<P>>;
export function session<P extends Record<string, unknown>, C extends Context = Context>(
  options: TelegrafMultiSessionOptions<P, C> & { lazy: true },
): MiddlewareFn<C & LazySessionFlavor<P>>;
export function session(
  options: TelegrafSessionOptions<unknown, Context> | TelegrafMultiSessionOptions<Record<string, unknown>, Context>,
): MiddlewareFn<Context> {
  const single = options as TelegrafSessionOptions<unknown, Context>;
  const resolved = options.type === 'multi' ? options : { ...single, initial: single.initial ?? single.defaultSession };
  return createSessionMiddleware<Context>(resolved as never, {
    name: 'Telegraf', defaultKey, missingKey: 'undefined', property: options.property ?? 'session',
  });
}
