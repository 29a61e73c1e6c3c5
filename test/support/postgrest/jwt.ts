/**
 * HS256 JWTs for the PostgREST double: signing the test keys, and verifying a request's token the
 * way PostgREST 14 does (src/PostgREST/Auth/Jwt.hs: three parts, the key must verify the signature,
 * `exp`/`nbf`/`iat` checked with 30 s of clock skew, the role from the `role` claim, else the anon
 * role). Failures carry PostgREST's codes and messages: PGRST301 for a token that cannot be decoded
 * or verified, PGRST303 for claims that fail validation.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PostgrestHttpError, withProxyStatus } from './errors.js';

/** Claims of a verified token, with `role` filled in as PostgREST passes them to `request.jwt.claims`. */
export type JwtClaims = Record<string, unknown> & { role: string };

const SKEW_S = 30;

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** An HS256 token over `claims`, signed with `secret`. */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64url(sig)}`;
}

function jwtError(code: 'PGRST301' | 'PGRST303', message: string, details: string | null = null): PostgrestHttpError {
  return withProxyStatus(new PostgrestHttpError(401, { code, message, details, hint: null }, {
    'WWW-Authenticate': `Bearer error="invalid_token", error_description=${JSON.stringify(message)}`,
  }));
}

function parsePart(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The claims of `token` if `secret` verifies it, else PostgREST's 401 error for it.
 * `undefined` (no token at all) means the anonymous role.
 */
export function verifyJwt(token: string | undefined, secret: string, anonRole: string, nowMs = Date.now()): JwtClaims {
  if (token === undefined) return { role: anonRole };
  if (token === '') throw jwtError('PGRST301', 'Empty JWT is sent in Authorization header');
  const parts = token.split('.');
  if (parts.length !== 3) throw jwtError('PGRST301', `Expected 3 parts in JWT; got ${parts.length}`);
  const [head, body, sig] = parts as [string, string, string];
  const header = parsePart(head) as { alg?: unknown } | undefined;
  if (!header || typeof header !== 'object') throw jwtError('PGRST301', 'JWT cryptographic operation failed');
  if (header.alg === 'none') {
    throw jwtError('PGRST301', 'Wrong or unsupported encoding algorithm', "JWT is unsecured but expected 'alg' was not 'none'");
  }
  const expected = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, 'base64url');
  if (header.alg !== 'HS256' || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    // A wrong secret and a key of the wrong type read the same in PostgREST 14 (jose's KeyError).
    throw jwtError('PGRST301', 'No suitable key or wrong key type', 'None of the keys was able to decode the JWT');
  }
  const claims = parsePart(body);
  if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw jwtError('PGRST303', 'Parsing claims failed');
  const c = claims as Record<string, unknown>;
  const now = Math.floor(nowMs / 1000);
  const check = (key: string, bad: (v: number) => boolean, message: string): void => {
    if (c[key] === undefined || c[key] === null) return;
    if (typeof c[key] !== 'number') throw jwtError('PGRST303', `The JWT '${key}' claim must be a number`);
    if (bad(c[key] as number)) throw jwtError('PGRST303', message);
  };
  check('exp', (v) => now - SKEW_S > v, 'JWT expired');
  check('nbf', (v) => now + SKEW_S < v, 'JWT not yet valid');
  check('iat', (v) => now + SKEW_S < v, 'JWT issued at future');
  const role = typeof c.role === 'string' ? c.role : c.role === undefined ? anonRole : JSON.stringify(c.role);
  return { ...c, role };
}
