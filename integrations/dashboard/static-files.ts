/**
 * The built page's files as responses: the HTML shell (with a strict Content-Security-Policy) and
 * the hashed assets it loads.
 *
 * @module
 */
import { fail } from '../http/respond.js';
import { dashboardAssets } from './assets.generated.js';

/** Headers of every dashboard response that a browser renders or runs. */
export const SECURITY_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' };
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The page. A request `view` refuses still gets it (it shows the sign-in hint) with status 401, and
 * `challenge` as `WWW-Authenticate` so browsers can ask for credentials.
 */
export function pageResponse(method: string, allowed: boolean, challenge: string | undefined): Response {
  const html = dashboardAssets['index.html']!;
  const headers: Record<string, string> = { 'content-type': html.type, 'cache-control': 'no-cache', 'content-security-policy': CSP, ...SECURITY_HEADERS };
  if (!allowed && challenge) headers['www-authenticate'] = challenge;
  return new Response(method === 'HEAD' ? null : html.body, { status: allowed ? 200 : 401, headers });
}

/** One file under `assets/`; its name carries a content hash, so it may be cached for good. */
export function assetResponse(name: string): Response {
  const path = `assets/${name}`;
  const file = Object.hasOwn(dashboardAssets, path) ? dashboardAssets[path] : undefined;
  if (!file) return fail(404, 'NOT_FOUND', 'No such file.');
  return new Response(file.body, { headers: { 'content-type': file.type, 'cache-control': 'public, max-age=31536000, immutable', ...SECURITY_HEADERS } });
}
