import type { Context, MiddlewareFn } from 'grammy';
import { createSessionMiddleware } from '../../src/session/session-engine.js';
import type { MultiSessionOptions, SessionPartOptions, SingleSessionOptions } from '../../src/session/session-options.js';

/**
 * Context flavor for `ctx.session`. Combine it with grammY's `Context`:
 * `type MyContext = Context & SessionFlavor<MySession>`. Setting `ctx.session = null` deletes it.
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

// Interfaces rather than aliases of the framework-neutral option types, so that the API reference
// lists every option on these pages.
/** Options of {@link session} for one session. */
export interface GrammySessionOptions<S, C extends Context = Context> extends SingleSessionOptions<S, C> {}
/** Options of {@link session} with `type: 'multi'`. */
export interface GrammyMultiSessionOptions<P extends Record<string, unknown>, C extends Context = Context> extends MultiSessionOptions<P, C> {}
/** Options of one part of a multi-session. */
export type GrammySessionPartOptions<S, C extends Context = Context> = SessionPartOptions<S, C>;

const defaultKey = (ctx: Context): string | undefined => ctx.chat?.id.toString();

/**
 * Session middleware for grammY that loses no update: by default each update runs under a
 * fleet-wide lease on its chat's session (1 round trip to load, 1 to save), writes only when the
 * session changed, and hands the lease straight on to the next queued update in this process.
 *
 * @example
 * ```ts
 * import { Bot, type Context } from 'grammy';
 * import { session, type SessionFlavor } from 'botwire/grammy';
 * import { redisSessionStore } from 'botwire/redis';
 *
 * type MyContext = Context & SessionFlavor<{ count: number }>;
 * const bot = new Bot<MyContext>(token);
 * bot.use(session({ store: redisSessionStore({ url: process.env.REDIS_URL }), initial: () => ({ count: 0 }) }));
 * bot.on('message', (ctx) => ctx.reply(String(++ctx.session.count)));
 * ```
 */
export function session<S, C extends Context = Context>(options: GrammySessionOptions<S, C> & { lazy?: false }): MiddlewareFn<C & SessionFlavor<S>>;
export function session<S, C extends Context = Context>(options: GrammySessionOptions<S, C> & { lazy: true }): MiddlewareFn<C & LazySessionFlavor<S>>;
export function session<P extends Record<string, unknown>, C extends Context = Context>(
  options: GrammyMultiSessionOptions<P, C> & { lazy?: false },
): MiddlewareFn<C & SessionFlavor<P>>;
export function session<P extends Record<string, unknown>, C extends Context = Context>(
  options: GrammyMultiSessionOptions<P, C> & { lazy: true },
): MiddlewareFn<C & LazySessionFlavor<P>>;
export function session(
  options: GrammySessionOptions<unknown, Context> | GrammyMultiSessionOptions<Record<string, unknown>, Context>,
): MiddlewareFn<Context> {
  return createSessionMiddleware<Context>(options as never, { name: 'grammY', defaultKey, missingKey: 'throw' });
}
