/** Calls to the handler's JSON endpoints, relative to where the page is mounted. */

/** The mount path of the page, ending in `/`. */
export const base = location.pathname.replace(/[^/]*$/, '');

/** An error answer: `{ error: { code, message } }`. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let onUnauthorized: (loginUrl: string | null) => void = () => undefined;

/** Called whenever an endpoint answers 401. */
export function whenUnauthorized(handler: (loginUrl: string | null) => void): void {
  onUnauthorized = handler;
}

const cache = new Map<string, { etag: string; value: unknown }>();

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => null)) as { error?: { code: string; message: string }; loginUrl?: string | null } | null;
  if (res.status === 401) onUnauthorized(body?.loginUrl ?? null);
  if (!res.ok) throw new ApiError(res.status, body?.error?.code ?? 'HTTP', body?.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

/** GET an endpoint; sends the last ETag, so an unchanged answer costs a 304. */
export async function get<T>(path: string): Promise<T> {
  const hit = cache.get(path);
  const res = await fetch(`${base}api/${path}`, { headers: hit ? { 'if-none-match': hit.etag } : {}, cache: 'no-store' });
  if (res.status === 304 && hit) return hit.value as T;
  const value = await answer<T>(res);
  const etag = res.headers.get('etag');
  if (etag) cache.set(path, { etag, value });
  return value;
}

/** POST an action as JSON (the handler refuses anything else). */
export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  const res = await fetch(`${base}api/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return answer<T>(res);
}
