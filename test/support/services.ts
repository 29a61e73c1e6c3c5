/**
 * Gates for tests that need the real Postgres / Redis servers. Under CI (CI=true) a test that needs
 * a service always runs, so an unreachable server fails the run instead of silently skipping.
 * Outside CI it is skipped with one line saying how to enable it.
 */
import net from 'node:net';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname || '127.0.0.1', port: Number(u.port || defaultPort) });
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok); };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const cache = new Map<string, Promise<boolean>>();

/** Whether tests needing `service` should run in this process (always true under CI). */
export async function needs(service: 'redis' | 'postgres'): Promise<boolean> {
  if (IN_CI) return true;
  let p = cache.get(service);
  if (!p) {
    p = service === 'redis' ? reachable(REDIS_URL, 6379) : reachable(DATABASE_URL, 5432);
    cache.set(service, p);
  }
  const ok = await p;
  if (!ok) {
    const env = service === 'redis' ? `REDIS_URL (now ${REDIS_URL})` : `DATABASE_URL (now ${DATABASE_URL})`;
    console.warn(`[botwire tests] ${service} unreachable: skipping its tests. Start ${service} or set ${env} to run them.`);
  }
  return ok;
}

/** A name unique to this test file and run, for schemas and key prefixes that must not collide. */
export function uniqueName(base: string): string {
  return `${base}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}
