/**
 * The dashboard's session endpoints (look up, delete, opt-in edit) and its health checks.
 *
 * @module
 */
import type { SessionStore } from '../../src/session/session-store.js';
import type { SessionLeaseInfo } from '../../src/session/types.js';
import type { DashboardHealthCheck } from './dashboard-options.js';
import { refuse } from './refusal.js';

/** What the dashboard uses of a session store (`inspect` when its backend has it). @internal */
export type SessionStoreLike = Pick<SessionStore<unknown>, 'get' | 'set' | 'delete'> & Partial<Pick<SessionStore<unknown>, 'inspect' | 'backend'>>;

function versionOf(body: Record<string, unknown>, required: boolean): number | undefined {
  const v = body.ifVersion;
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw refuse(400, 'BAD_VERSION', 'Send `ifVersion`: the version you looked at (an integer ≥ 0), so a newer write is never overwritten.');
  }
  return v;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * The lease as the page shows it: the holder's fingerprint (never its token: a token fences
 * writes), how long it has held the key and when it lapses. Durations are worked out here, on the
 * store's clock, so a browser with a wrong clock still shows the right age.
 */
function leaseView(lease: SessionLeaseInfo | undefined, now: number) {
  if (!lease) return null;
  const held = lease.acquiredAt;
  return {
    holder: lease.holder,
    acquiredAt: held === undefined ? null : iso(held),
    heldMs: held === undefined ? null : Math.max(0, now - held),
    expiresAt: iso(lease.expiresAt),
    expiresInMs: Math.max(0, lease.expiresAt - now),
  };
}

/**
 * One session as the page shows it; `found: false` when there is none (or it expired). `lease` is
 * `null` when the key is free, and absent when the store cannot tell (no `inspect` on its backend).
 * With `inspect`, record and lease come from the same single round trip.
 */
export async function sessionView(store: SessionStoreLike, key: string) {
  const inspectable = typeof store.inspect === 'function' && typeof store.backend?.inspect === 'function';
  const seen = inspectable ? await store.inspect!(key) : { record: await store.get(key), lease: undefined };
  const lease = inspectable ? { lease: leaseView(seen.lease, Date.now()) } : {};
  const rec = seen.record;
  if (!rec) return { key, found: false as const, ...lease };
  return {
    key, found: true as const, data: rec.data, version: rec.version,
    expiresAt: rec.expiresAt === undefined ? null : iso(rec.expiresAt), ...lease,
  };
}

/** Delete `body.key` (a compare-and-delete with `body.ifVersion` when given). */
export async function sessionDelete(store: SessionStoreLike, body: Record<string, unknown>) {
  const key = body.key as string;
  const ifVersion = versionOf(body, false);
  const deleted = await store.delete(key, ifVersion === undefined ? {} : { ifVersion });
  return { key, deleted };
}

/** Write `body.data` to `body.key` if its version is still `body.ifVersion`. */
export async function sessionSet(store: SessionStoreLike, body: Record<string, unknown>) {
  const key = body.key as string;
  const ifVersion = versionOf(body, true)!;
  if (!('data' in body)) throw refuse(400, 'BAD_DATA', 'Send the new value as `data`.');
  const version = await store.set(key, body.data, { ifVersion });
  return { key, version };
}

/** Run every check at once, each bounded by `timeoutMs`; a throw or timeout is `ok: false`. */
export async function healthView(checks: Record<string, DashboardHealthCheck>, timeoutMs: number) {
  const entries = Object.entries(checks);
  const results = await Promise.all(entries.map(async ([label, check]) => {
    const started = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs); });
      const res = await Promise.race([check.health(), timeout]);
      const { ok, latencyMs, ...details } = (res ?? { ok: false }) as { ok: unknown; latencyMs?: unknown } & Record<string, unknown>;
      return { label, ok: ok === true, latencyMs: typeof latencyMs === 'number' ? latencyMs : Math.round(performance.now() - started), details };
    } catch (err) {
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { label, ok: false, latencyMs: Math.round(performance.now() - started), details: { error } };
    } finally {
      clearTimeout(timer);
    }
  }));
  return { ok: results.every((r) => r.ok), checks: results };
}
