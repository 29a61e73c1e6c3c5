import { BotwireConfigError, SessionKeyError } from '../errors.js';
import { errorFields, logs } from '../logger.js';
import { countRoundTrip } from './round-trips.js';
import { PartRun, RESOLVED, resolvePart, type ResolvedPart } from './session-part.js';
import type { FrameworkBinding, MultiSessionOptions, SingleSessionOptions } from './session-options.js';
import type { SessionStore } from './session-store.js';

/**
 * The session middleware shared by `botwire/grammy` and `botwire/telegraf`: key → load (lease,
 * compare-and-set or plain) → handler → save only if changed → release. The framework files only
 * pass their default key and typing. Edge-safe.
 *
 * @module
 */

const NO_ERRORS = (): unknown[] => [];

/** A framework-neutral middleware: `(ctx, next) => Promise<void>`. */
export type EngineMiddleware<C> = (ctx: C, next: () => Promise<void>) => Promise<void>;

/**
 * Load every run that has a key and is not loaded yet: leased parts one after another in global key
 * order (so two multi-sessions never deadlock), the others with one `getMany` per store. If any
 * part fails, the leases already taken are given back and the first error is thrown.
 */
async function loadAll<C>(runs: ReadonlyArray<PartRun<C>>): Promise<void> {
  const todo = runs.filter((r) => r.key !== undefined && !r.loaded);
  const leased = todo.filter((r) => r.cfg.mode === 'serialize').sort((a, b) => (a.fullKey < b.fullKey ? -1 : a.fullKey > b.fullKey ? 1 : 0));
  for (let i = 1; i < leased.length; i++) {
    const [a, b] = [leased[i - 1]!, leased[i]!];
    if (a.fullKey === b.fullKey && a.cfg.store === b.cfg.store) {
      // The second lease would wait for the first, held by this very update, until waitMs.
      throw new BotwireConfigError(`session parts "${a.cfg.name}" and "${b.cfg.name}" resolve to the same key "${a.key}"; give each part its own getSessionKey.`);
    }
  }
  const groups = new Map<SessionStore<unknown>, Array<PartRun<C>>>();
  for (const r of todo) {
    if (r.cfg.mode === 'serialize') continue;
    const list = groups.get(r.cfg.store);
    if (list) list.push(r);
    else groups.set(r.cfg.store, [r]);
  }
  const results = await Promise.allSettled([
    (async () => { for (const r of leased) await r.loadLeased(); })(),
    ...[...groups].map(async ([store, list]) => {
      const since = performance.now();
      let records;
      countRoundTrip(list[0]!.ctx);
      try {
        records = await store.getMany(list.map((r) => r.key!));
      } catch (err) {
        for (const r of list) r.failed(err, since);
        return;
      }
      list.forEach((r, i) => { r.accept(records[i]); if (r.cfg.observed) r.reportLoad(since, undefined); });
    }),
  ]);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await Promise.allSettled(todo.map((r) => r.abandon()));
    throw failure.reason;
  }
}

/** The common single-session case, without the bookkeeping of several parts (and not `async`: once per update). */
function loadOne<C>(run: PartRun<C>): Promise<void> {
  if (run.key === undefined || run.loaded) return RESOLVED;
  if (run.cfg.mode === 'serialize') return run.loadLeased();
  const since = performance.now();
  countRoundTrip(run.ctx);
  return run.cfg.store.get(run.key).then(
    (record) => { run.accept(record); if (run.cfg.observed) run.reportLoad(since, undefined); },
    (err: unknown) => run.failed(err, since),
  );
}

/** Save/release every part; errors are collected so one failing part never keeps another's lease. */
function finishAll<C>(runs: ReadonlyArray<PartRun<C>>, ok: boolean): Promise<unknown[]> {
  if (runs.length === 1) return runs[0]!.finish(ok).then(NO_ERRORS, (err: unknown) => [err]);
  return finishEach(runs, ok);
}

async function finishEach<C>(runs: ReadonlyArray<PartRun<C>>, ok: boolean): Promise<unknown[]> {
  const results = await Promise.allSettled(runs.map((r) => r.finish(ok)));
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
}

/**
 * One update's session parts, stored on the context under the middleware's own symbol. The
 * accessors that read it are made once per middleware, not per update: per-update closures in
 * `Object.defineProperty` turned every context object into a slow dictionary-mode object (V8 cannot
 * share a hidden class between objects whose accessors differ), which cost ~1 µs per update here
 * and made every later property read on the context slower too.
 */
class UpdateSessions<C> {
  loading: Promise<void> | undefined = undefined;
  /** A multi-session's `ctx.session` object, made on first read. */
  view: object | undefined = undefined;

  constructor(readonly runs: Array<PartRun<C>>) {}

  ensureLoaded(): Promise<void> {
    return (this.loading ??= this.runs.length === 1 ? loadOne(this.runs[0]!) : loadAll(this.runs));
  }
}

/**
 * Build the session middleware for a framework. Validates the options once, up front.
 */
export function createSessionMiddleware<C extends object>(
  options: SingleSessionOptions<unknown, C> | MultiSessionOptions<Record<string, unknown>, C>,
  binding: FrameworkBinding<C>,
): EngineMiddleware<C> {
  const prop = binding.property ?? 'session';
  const multi = options?.type === 'multi';
  let parts: Array<ResolvedPart<C>>;
  if (multi) {
    const m = options as MultiSessionOptions<Record<string, unknown>, C>;
    const names = Object.keys(m.parts ?? {});
    if (names.length === 0) throw new BotwireConfigError("session({ type: 'multi' }) needs at least one entry in `parts`.");
    parts = names.map((name) => resolvePart(name, m.parts[name]!, {
      getKey: binding.defaultKey, concurrency: m.concurrency, logger: m.logger, telemetry: m.telemetry,
    }));
  } else {
    parts = [resolvePart(undefined, options as SingleSessionOptions<unknown, C>, { getKey: binding.defaultKey })];
  }
  const lazy = options.lazy ?? false;

  const missing = (part: string | undefined): undefined => {
    if (binding.missingKey === 'undefined') return undefined;
    throw new SessionKeyError(undefined,
      `cannot access ${part === undefined ? `ctx.${prop}` : `ctx.${prop}.${part}`}: this update has no session key ` +
        '(getSessionKey returned undefined, e.g. an update without a chat). Check for a chat before using the session.',
    );
  };

  // Where this middleware keeps an update's parts: on the context (and, for multi, on its view).
  const slot = Symbol(`botwire ${prop}`);
  type Holder = { [slot]: UpdateSessions<C> };
  let accessor: PropertyDescriptor;
  if (multi) {
    const partAccessors = parts.map((part, i): [string, PropertyDescriptor] => [part.name!, {
      configurable: true,
      enumerable: true,
      get(this: Holder) {
        const run = this[slot].runs[i]!;
        return run.key === undefined ? missing(part.name) : run.value;
      },
      set(this: Holder, v: unknown) {
        const run = this[slot].runs[i]!;
        if (run.key === undefined) missing(part.name);
        else run.assign(v);
      },
    }]);
    accessor = {
      configurable: true,
      enumerable: true,
      get(this: Holder) {
        const u = this[slot];
        let view = u.view;
        if (!view) {
          // The parts are the view's own enumerable properties: it logs and spreads like a plain object.
          u.view = view = {};
          Object.defineProperty(view, slot, { value: u });
          for (const [name, a] of partAccessors) Object.defineProperty(view, name, a);
        }
        return lazy ? u.ensureLoaded().then(() => view) : view;
      },
      set() { throw new BotwireConfigError(`ctx.${prop} is a multi-session: assign its parts (ctx.${prop}.<part> = …) instead.`); },
    };
  } else {
    accessor = {
      configurable: true,
      enumerable: true,
      get(this: Holder) {
        const u = this[slot];
        const run = u.runs[0]!;
        if (run.key === undefined) return missing(undefined);
        return lazy ? u.ensureLoaded().then(() => run.value) : run.value;
      },
      set(this: Holder, v: unknown) {
        const run = this[slot].runs[0]!;
        if (run.key === undefined) missing(undefined);
        else run.assign(v);
      },
    };
  }

  return async function botwireSession(ctx: C, next: () => Promise<void>): Promise<void> {
    let runs: Array<PartRun<C>>;
    if (parts.length === 1) {
      // The common single-session case: no array of promises when the key is computed synchronously.
      const p = parts[0]!;
      const k = p.getKey(ctx);
      runs = [new PartRun(p, ctx, typeof k === 'string' || k === undefined ? k : await k)];
    } else {
      runs = await Promise.all(parts.map(async (p) => new PartRun(p, ctx, await p.getKey(ctx))));
    }
    const u = new UpdateSessions(runs);
    // Not enumerable: logging or spreading the context shows the session, not this bookkeeping.
    Object.defineProperty(ctx, slot, { value: u, configurable: true, writable: true });
    Object.defineProperty(ctx, prop, accessor);

    if (!lazy) await u.ensureLoaded();
    let handlerError: { error: unknown } | undefined;
    try {
      await next();
    } catch (error) {
      handlerError = { error };
    }
    // A lazy handler may have assigned without reading, or left a load running: settle it first.
    if (lazy && (u.loading || runs.some((r) => r.hasPendingAssign))) {
      try {
        await u.ensureLoaded();
      } catch (error) {
        if (!handlerError) handlerError = { error };
      }
    }
    const errors = await finishAll(runs, handlerError === undefined);
    if (handlerError) {
      const { logger } = runs[0]!.cfg;
      if (logs(logger, 'error')) {
        for (const e of errors) logger.error({ key: runs[0]!.key, error: errorFields(e) }, 'botwire session: releasing after a failed handler also failed');
      }
      throw handlerError.error;
    }
    if (errors.length > 0) throw errors[0];
  };
}
