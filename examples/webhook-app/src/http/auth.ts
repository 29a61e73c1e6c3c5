/**
 * Bearer checks for the cron and admin routes, and Mini App `initData` for the jobs gateway.
 * Secrets are compared through their SHA-256 digests, so the time taken says nothing about them.
 */
import { BotwireConfigError, verifyInitData } from 'botwire';

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

/**
 * The Telegram user a Mini App request proves with `Authorization: tma <initData>` (signed by the
 * bot token, at most a day old), or undefined.
 *
 * Seam: the operations work adds a ready-made initData authorizer to botwire; this function is
 * what it replaces.
 */
export async function miniAppUser(request: Request, botToken: string): Promise<number | undefined> {
  const header = request.headers.get('authorization') ?? '';
  if (!header.startsWith('tma ')) return undefined;
  try {
    const { user } = await verifyInitData(header.slice(4), botToken, { maxAgeSec: 86_400 });
    return user?.id;
  } catch (err) {
    if (err instanceof BotwireConfigError) throw err; // our configuration, not the caller's data
    return undefined;
  }
}
