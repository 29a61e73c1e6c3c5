/**
 * Bearer checks for the cron and admin routes, and the admin cookie that lets a browser open the
 * ops dashboard (`/admin/ops/`), which is navigated to and so cannot send an `Authorization` header.
 * Secrets are compared through their SHA-256 digests, so the time taken says nothing about them.
 * Mini App `initData` is checked by botwire itself (`initDataJobsAuthorize`, `initDataAuthorizer`).
 */
const encoder = new TextEncoder();

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** Whether `given` equals `secret`, in time that does not depend on where they differ. */
export async function sameSecret(given: string, secret: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(secret)]);
  let diff = given.length === 0 ? 1 : 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Whether `request` carries `Authorization: Bearer <secret>`. */
export async function hasBearer(request: Request, secret: string): Promise<boolean> {
  const header = request.headers.get('authorization') ?? '';
  return sameSecret(header.startsWith('Bearer ') ? header.slice(7) : '', secret);
}

/**
 * Whether a webhook request carries Telegram's `X-Telegram-Bot-Api-Secret-Token`. Checked before
 * grammY sees the request: grammY checks it too, but only after its first `getMe`, so a stranger's
 * request would otherwise cost a Bot API call on every cold start.
 */
export function fromTelegram(request: Request, secret: string): Promise<boolean> {
  return sameSecret(request.headers.get('x-telegram-bot-api-secret-token') ?? '', secret);
}

/** Name of the cookie the admin panel sets for the ops dashboard. */
export const ADMIN_COOKIE = 'webhook_app_admin';
/** Only the dashboard's requests carry the cookie; the admin API takes the Bearer token alone. */
const COOKIE_PATH = '/admin/ops';

/**
 * The cookie's value: an HMAC of a fixed text keyed by the admin token, not the token itself, so a
 * cookie that leaks (a proxy's log) opens the dashboard but not the admin API.
 */
async function cookieValue(adminToken: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(adminToken), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode('webhook-app ops dashboard')));
  return [...mac].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function cookieOf(request: Request, name: string): string {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return '';
}

/**
 * The `Set-Cookie` header that signs a browser in to the ops dashboard (`HttpOnly`, `SameSite=Strict`,
 * `Secure` over HTTPS, 12 h), or signs it out with `signOut`.
 */
export async function adminCookieHeader(request: Request, adminToken: string, signOut = false): Promise<string> {
  const secure = new URL(request.url).protocol === 'https:' ? '; Secure' : '';
  const value = signOut ? '' : await cookieValue(adminToken);
  return `${ADMIN_COOKIE}=${value}; Path=${COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=${signOut ? 0 : 43_200}${secure}`;
}

/** Whether `request` is an admin's: the Bearer admin token, or the dashboard cookie derived from it. */
export async function isAdmin(request: Request, adminToken: string): Promise<boolean> {
  if (await hasBearer(request, adminToken)) return true;
  return sameSecret(cookieOf(request, ADMIN_COOKIE), await cookieValue(adminToken));
}
