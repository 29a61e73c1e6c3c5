/**
 * Credential helpers for the gateway: where a browser's token travels, and comparing secrets in
 * constant time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SYNC_TOKEN_SUBPROTOCOL_PREFIX } from '../../src/sync/protocol.js';

/**
 * The bearer token of an upgrade request: the `Authorization: Bearer …` header (server-side
 * clients), else a `bearer.<token>` WebSocket subprotocol (browsers cannot set headers), else the
 * `token` query parameter. `undefined` when there is none.
 */
export function extractToken(request: IncomingMessage, url: URL): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    for (const p of protocols.split(',')) {
      const t = p.trim();
      if (t.startsWith(SYNC_TOKEN_SUBPROTOCOL_PREFIX) && t.length > SYNC_TOKEN_SUBPROTOCOL_PREFIX.length) {
        return t.slice(SYNC_TOKEN_SUBPROTOCOL_PREFIX.length);
      }
    }
  }
  return url.searchParams.get('token') ?? undefined;
}

/**
 * Compare two secrets without leaking, through timing, how much of them matched. Hashing first
 * makes the comparison length-independent too.
 *
 * @example
 * ```ts
 * authorize: (req, { token }) => token && safeEqual(token, process.env.ADMIN_TOKEN!) ? { allow: ['**'] } : false
 * ```
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}
