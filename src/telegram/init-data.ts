/**
 * Telegram Mini App `initData` verification (Telegram's "Validating data received via the Mini
 * App"): the client sends the query string Telegram gave it; the server recomputes its HMAC with
 * the bot token and checks it is recent. Edge-safe: WebCrypto only.
 *
 * @module
 */
import { BotwireConfigError, InitDataError } from '../errors.js';

/** The user who opened the Mini App, with Telegram's field names. */
export interface InitDataUser {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_premium?: boolean;
  is_bot?: boolean;
  photo_url?: string;
  allows_write_to_pm?: boolean;
  added_to_attachment_menu?: boolean;
}

/** A chat as `initData` describes it (`chat` field). */
export interface InitDataChat {
  id: number;
  type: string;
  title: string;
  username?: string;
  photo_url?: string;
}

/** What {@link verifyInitData} returns: the verified fields, decoded. */
export interface VerifiedInitData {
  /** The user, when Telegram sent one (it does whenever a user opened the app). */
  user: InitDataUser | undefined;
  /** When Telegram signed the data. */
  authDate: Date;
  /** `query_id`, for answering an inline Mini App query. */
  queryId: string | undefined;
  /** `start_param` of a direct link. */
  startParam: string | undefined;
  /** The chat the app was opened from (attachment menu). */
  chat: InitDataChat | undefined;
  chatType: string | undefined;
  chatInstance: string | undefined;
  /** Every field as sent (strings), `hash` included. */
  fields: Readonly<Record<string, string>>;
}

/** Options of {@link verifyInitData}. */
export interface VerifyInitDataOptions {
  /**
   * Refuse data signed longer ago than this. Telegram signs `initData` when the app opens, so
   * this bounds how long a leaked string can be replayed.
   * @default 86_400 (one day)
   */
  maxAgeSec?: number;
  /** The clock, in epoch milliseconds (tests). @default Date.now */
  now?: () => number;
}

const encoder = new TextEncoder();
/** Allowed clock skew for an `auth_date` slightly in the future (client and server clocks differ). */
const SKEW_SEC = 60;
const keyCache = new Map<string, Promise<CryptoKey>>();

async function hmac(key: CryptoKey, data: string): Promise<Uint8Array<ArrayBuffer>> {
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(data)));
}

function importKey(raw: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
}

/** secret_key = HMAC-SHA-256(key "WebAppData", message bot token); cached per token. */
function secretKeyFor(botToken: string): Promise<CryptoKey> {
  let key = keyCache.get(botToken);
  if (!key) {
    key = importKey(encoder.encode('WebAppData')).then((k) => hmac(k, botToken)).then(importKey);
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(botToken, key);
  }
  return key;
}

/** Constant-time comparison of a computed MAC with a hex string (any length mismatch fails at the end). */
function equalsHex(mac: Uint8Array, hex: string): boolean {
  let diff = hex.length ^ (mac.length * 2);
  for (let i = 0; i < mac.length; i++) {
    const byte = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    diff |= (Number.isNaN(byte) ? 256 : byte) ^ mac[i]!;
  }
  return diff === 0;
}

function dataCheckString(fields: Map<string, string>, without: readonly string[]): string {
  return [...fields.keys()]
    .filter((k) => !without.includes(k))
    .sort()
    .map((k) => `${k}=${fields.get(k)!}`)
    .join('\n');
}

function parseJson<T>(fields: Map<string, string>, name: string): T | undefined {
  const text = fields.get(name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new InitDataError('malformed', `its \`${name}\` field is not JSON`);
  }
}

/**
 * Verify a Mini App's `initData` (the raw query string from `Telegram.WebApp.initData`) with the
 * bot's token: HMAC-SHA-256 as Telegram's Web Apps docs specify, compared in constant time, and
 * `auth_date` no older than `maxAgeSec`. Returns the decoded fields, or throws
 * {@link InitDataError} (`reason`: `malformed`, `missing_hash`, `bad_hash`, `expired`).
 *
 * Send it from the Mini App as `Authorization: tma <initData>` (HTTP) or as the connection token
 * (the sync gateway); never trust `initDataUnsafe`.
 *
 * @example
 * ```ts
 * const { user } = await verifyInitData(request.headers.get('authorization')!.slice(4), process.env.BOT_TOKEN!);
 * ```
 */
export async function verifyInitData(
  initData: string,
  botToken: string,
  options: VerifyInitDataOptions = {},
): Promise<VerifiedInitData> {
  if (typeof initData !== 'string' || initData.length === 0 || initData.length > 16_384) {
    throw new InitDataError('malformed', 'it must be the non-empty query string from Telegram.WebApp.initData');
  }
  if (typeof botToken !== 'string' || !/^\d+:[\w-]{20,}$/.test(botToken)) {
    throw new BotwireConfigError('verifyInitData: the bot token is not a Bot API token (<id>:<secret>); pass the token the Mini App belongs to.');
  }
  const maxAgeSec = options.maxAgeSec ?? 86_400;
  if (!(Number.isFinite(maxAgeSec) && maxAgeSec > 0)) throw new BotwireConfigError(`verifyInitData: maxAgeSec must be a positive number of seconds, got ${String(maxAgeSec)}.`);
  const fields = new Map<string, string>();
  try {
    for (const [k, v] of new URLSearchParams(initData)) {
      if (fields.has(k)) throw new InitDataError('malformed', `its field \`${k}\` appears twice`);
      fields.set(k, v);
    }
  } catch (err) {
    if (err instanceof InitDataError) throw err;
    throw new InitDataError('malformed', 'it is not a query string');
  }
  const hash = fields.get('hash');
  if (!hash) throw new InitDataError('missing_hash', 'it carries no `hash`');
  const key = await secretKeyFor(botToken);
  // The data-check string is every field but `hash`. Clients that also send `signature` (the
  // Ed25519 one, for third parties) sign without it on some versions: accept either form, both
  // are keyed with this bot's token.
  let ok = equalsHex(await hmac(key, dataCheckString(fields, ['hash'])), hash);
  if (!ok && fields.has('signature')) ok = equalsHex(await hmac(key, dataCheckString(fields, ['hash', 'signature'])), hash);
  if (!ok) throw new InitDataError('bad_hash', 'its hash does not match (another bot\'s data, or altered)');
  const authSec = Number(fields.get('auth_date'));
  if (!Number.isInteger(authSec) || authSec <= 0) throw new InitDataError('malformed', 'its `auth_date` is missing or not a number');
  const nowSec = (options.now ?? Date.now)() / 1000;
  if (nowSec - authSec > maxAgeSec) throw new InitDataError('expired', `it was signed ${Math.round(nowSec - authSec)} s ago, more than maxAgeSec (${maxAgeSec})`);
  if (authSec - nowSec > SKEW_SEC) throw new InitDataError('expired', 'its `auth_date` lies in the future');
  return {
    user: parseJson<InitDataUser>(fields, 'user'),
    authDate: new Date(authSec * 1000),
    queryId: fields.get('query_id'),
    startParam: fields.get('start_param'),
    chat: parseJson<InitDataChat>(fields, 'chat'),
    chatType: fields.get('chat_type'),
    chatInstance: fields.get('chat_instance'),
    fields: Object.freeze(Object.fromEntries(fields)),
  };
}
