/**
 * How a Mini App's `initData` travels to a server: as `Authorization: tma <initData>` over HTTP, or
 * as a `tma.<base64url>` token (WebSocket subprotocols allow only token characters, and the raw
 * query string would otherwise go into the URL, where access logs keep it). Edge-safe.
 *
 * @module
 */

/** Prefix of an `initData` token: `tma.` + base64url of the raw `initData`. */
export const INIT_DATA_TOKEN_PREFIX = 'tma.';

/**
 * Wrap a Mini App's raw `initData` as a token made of URL- and subprotocol-safe characters, for
 * `connectSync({ token })` (it then travels as the `bearer.<token>` subprotocol, not in the URL).
 *
 * @example
 * ```ts
 * const sync = connectSync('wss://bot.example.com/sync', { token: () => initDataToken(Telegram.WebApp.initData) });
 * ```
 */
export function initDataToken(initData: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(initData)) binary += String.fromCharCode(byte);
  return INIT_DATA_TOKEN_PREFIX + btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * The raw `initData` in a token: a `tma.<base64url>` token decoded, anything else as it is (the
 * raw query string sent as `?token=`). Undefined when a `tma.` token is not valid base64url.
 */
export function initDataFromToken(token: string): string | undefined {
  if (!token.startsWith(INIT_DATA_TOKEN_PREFIX)) return token;
  const b64 = token.slice(INIT_DATA_TOKEN_PREFIX.length).replaceAll('-', '+').replaceAll('_', '/');
  try {
    const binary = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * The raw `initData` in an `Authorization` header: `tma <initData>` (the form Telegram's docs
 * use) or `Bearer tma.<base64url>`; undefined for anything else.
 */
export function initDataFromAuthorization(header: string | null | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const tma = /^tma\s+(\S+)\s*$/i.exec(header);
  if (tma) return tma[1];
  const bearer = /^Bearer\s+(tma\.\S+)\s*$/i.exec(header);
  return bearer ? initDataFromToken(bearer[1]!) : undefined;
}
