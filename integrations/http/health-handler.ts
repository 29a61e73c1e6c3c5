/**
 * `GET /health`: every check run at once, each bounded by `timeoutMs`, answered 200 when all are
 * ok and 503 otherwise, with no secrets in the body.
 *
 * @module
 */
import { BotwireConfigError } from '../../src/errors.js';
import { boundedHealth, type HealthCheckable, type HealthDetails } from '../../src/health.js';
import { intInRange } from '../../src/internal/validate.js';
import { fail, json } from './respond.js';

/** Options of {@link healthHandler}. */
export interface HealthHandlerOptions {
  /** Name → anything with `health()`: stores, queues, buses, gateways, your own checks. */
  checks: Record<string, HealthCheckable>;
  /**
   * Longest wait for each check; one that has not answered by then reports `ok: false`,
   * `error: 'timed out'` (the response never waits longer than this, plus a little).
   * @default 2_000
   */
  timeoutMs?: number;
  /** Path answered; other paths get 404. @default '/health' */
  path?: string;
}

/** One check in the response body. */
export interface HealthCheckView {
  ok: boolean;
  backend: string;
  latencyMs: number;
  details: HealthDetails;
  error?: string;
}

/** Keys whose values are never published, whatever a custom check puts there. */
const SECRET_KEY = /pass|secret|token|key|auth|credential|dsn|url|uri|connection/i;

/** Mask credentials in URL-like text (`redis://user:pass@host` → `redis://***@host`). */
function maskUrls(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@').slice(0, 200);
}

/** Keep plain values only; drop secret-looking keys and mask credentials in URL-like strings. */
function scrub(details: unknown): HealthDetails {
  const out: HealthDetails = {};
  if (typeof details !== 'object' || details === null) return out;
  for (const [k, v] of Object.entries(details)) {
    if (SECRET_KEY.test(k)) continue;
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (typeof v === 'string') out[k] = maskUrls(v);
  }
  return out;
}

/**
 * A web-standard `(Request) => Promise<Response>` for load balancers and uptime monitors:
 * `GET /health` (or `HEAD`) runs every check concurrently, each bounded by `timeoutMs`, and answers
 * `200 { ok: true, checks }` when all are ok, `503 { ok: false, checks }` otherwise. Each check is
 * `{ ok, backend, latencyMs, details, error? }`; `error` is a short publishable reason (`'timed out'`,
 * `'unavailable'`, `'migrations missing'`, `'migrations behind'` …), never a driver message, and
 * details whose keys look secret (password, token, url, connection…) are left out.
 *
 * @example
 * ```ts
 * const health = healthHandler({ checks: { sessions: store, jobs: queue, bus }, timeoutMs: 1_500 });
 * export { health as GET }; // app/health/route.ts (Next.js)
 * ```
 */
export function healthHandler(options: HealthHandlerOptions): (request: Request) => Promise<Response> {
  const checks = options?.checks;
  if (typeof checks !== 'object' || checks === null) throw new BotwireConfigError('healthHandler needs `checks`: { name: store | queue | bus | gateway | { health() } }.');
  for (const [name, target] of Object.entries(checks)) {
    if (typeof (target as Partial<HealthCheckable> | null)?.health !== 'function') {
      throw new BotwireConfigError(`healthHandler: check "${name}" has no health() method (stores, queues, buses and gateways have one).`);
    }
  }
  const timeoutMs = intInRange('timeoutMs', options.timeoutMs ?? 2_000, 1, 60_000);
  const path = options.path ?? '/health';
  if (!path.startsWith('/')) throw new BotwireConfigError(`healthHandler: path must start with "/", got ${JSON.stringify(path)}.`);
  const entries = Object.entries(checks);

  return async function handleHealthRequest(request: Request): Promise<Response> {
    let pathname: string;
    try { pathname = new URL(request.url).pathname; } catch { return fail(400, 'BAD_REQUEST', 'The request URL or Host header is invalid.'); }
    if (pathname !== path) return fail(404, 'NOT_FOUND', 'No such route.');
    const method = request.method.toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') return fail(405, 'METHOD_NOT_ALLOWED', 'Use GET or HEAD here.', { allow: 'GET, HEAD' });
    const reports = await Promise.all(entries.map(([name, target]) => boundedHealth(target, timeoutMs, name)));
    const out: Record<string, HealthCheckView> = {};
    let ok = true;
    reports.forEach((r, i) => {
      const view: HealthCheckView = { ok: r.ok === true, backend: String(r.backend), latencyMs: Number(r.latencyMs) || 0, details: scrub(r.details) };
      if (!view.ok) view.error = typeof r.error === 'string' ? maskUrls(r.error) : 'failed';
      ok &&= view.ok;
      out[entries[i]![0]] = view;
    });
    const response = json(ok ? 200 : 503, { ok, checks: out });
    return method === 'HEAD' ? new Response(null, { status: response.status, headers: response.headers }) : response;
  };
}
