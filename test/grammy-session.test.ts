import type { Context } from 'grammy';
import { describe, expect, it } from 'vitest';
import { memorySessionStore } from '../adapters/memory/index.js';
import { session, type SessionFlavor } from '../integrations/grammy/index.js';
import { BackendUnavailableError } from '../src/errors.js';
import type { CommitArgs, SessionBackend } from '../src/session/backend.js';
import { SessionStore as Store } from '../src/session/session-store.js';
import { grammySessionSuite } from './support/grammy-session-suite.js';
import { onEverySessionBackend } from './support/session-backends.js';
import { grammyBot, textUpdate } from './support/telegram.js';

await onEverySessionBackend(grammySessionSuite);

describe('hand-over failures (memory)', () => {
  it('a hand-over that fails after landing frees the key: the next update is not blocked for leaseMs', async () => {
    const real = memorySessionStore();
    const flaky = new Proxy(real.backend, {
      get(target, prop) {
        const v = Reflect.get(target, prop) as unknown;
        if (prop !== 'commit') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return async (args: CommitArgs) => {
          const result = await target.commit(args);
          // The write landed and the lease was kept, but the reply never arrives.
          if (args.keepLeaseMs !== undefined) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
          return result;
        };
      },
    }) as SessionBackend;
    const store = new Store(flaky);
    const bot = grammyBot<Context & SessionFlavor<{ n: number }>>();
    bot.use(session({ store, initial: () => ({ n: 0 }), leaseMs: 30_000, waitMs: 2_000 }));
    bot.on('message', (ctx) => { ctx.session.n++; });
    const results = await Promise.allSettled([1, 2].map(() => bot.handleUpdate(textUpdate(99, 'x'))));
    expect((results[0] as PromiseRejectedResult).reason.error).toBeInstanceOf(BackendUnavailableError);
    expect(results[1]!.status).toBe('fulfilled');
    expect((await store.get('99'))?.data).toEqual({ n: 2 });
  });
});
