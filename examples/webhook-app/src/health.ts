/**
 * `/health`: whether this instance can reach its backend.
 *
 * Seam: botwire's operations work brings `health()` / `healthHandler` (per-component checks with
 * timeouts, ready vs. live); `healthResponse` is the one function to swap for it.
 */
import type { Backend } from './backend.js';

/** 200 `{ ok: true, backend, ms }` when a session read answers within 2 s, else 503. */
export async function healthResponse(backend: Backend): Promise<Response> {
  const started = performance.now();
  try {
    await Promise.race([
      backend.sessions.get('health:probe'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2_000).unref?.()),
    ]);
    return Response.json({ ok: true, backend: backend.kind, ms: Math.round(performance.now() - started) });
  } catch (err) {
    return Response.json({ ok: false, backend: backend.kind, error: (err as Error).name }, { status: 503 });
  }
}
