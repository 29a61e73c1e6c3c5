/**
 * The layout of a Redis session record — ONE string `<expiresAt, 15 digits>:<version>:<json>` — and
 * the decoding of the session scripts' replies.
 *
 * @module
 */
import type { CasResult, CommitResult, RawSessionRecord } from 'botwire';
import { SessionCorruptError } from 'botwire/adapter-kit';

/** Width of the expiry field at the start of every stored value (epoch ms, zero-padded). */
export const EXPIRY_DIGITS = 15;
const MAX_EXPIRY = 10 ** EXPIRY_DIGITS - 1;
const NO_EXPIRY = `${'0'.repeat(EXPIRY_DIGITS)}:`;

/** A script's reply: the write scripts answer one integer (or, for acquire, the stored string). */
export type Reply = string | number | null;

/** Decode session-commit's answer: the version, or -1 when fenced off. */
export function committed(reply: Reply): CommitResult {
  const n = Number(reply);
  return n >= 0 ? { ok: true, version: n } : { ok: false };
}

/** Decode the integer a CAS script answers: the version when done, `-1 - actual` on a mismatch. */
export function cas(reply: Reply): CasResult {
  const n = Number(reply);
  return n >= 0 ? { ok: true, version: n } : { ok: false, actual: -1 - n };
}

/**
 * Hash tag content for a key: `%` and `}` are escaped so the tag always spans the whole key (a `}`
 * inside it would end the tag early, and a leading one would make it empty and unslotted).
 */
export function tag(key: string): string {
  return key.includes('}') || key.includes('%') ? key.replace(/[%}]/g, (c) => (c === '%' ? '%25' : '%7D')) : key;
}

/** The header start `<expiresAt:15>:` for a write with `ttlMs` (fixed width, so touch can patch it in place). */
export function expiryHeader(ttlMs: number | undefined): string {
  if (ttlMs === undefined) return NO_EXPIRY;
  return `${String(Math.min(Date.now() + Math.ceil(ttlMs), MAX_EXPIRY)).padStart(EXPIRY_DIGITS, '0')}:`;
}

/**
 * Split a stored `<expiresAt:15>:<version>:<json>` string. Anything else (a value written by
 * something other than botwire) is reported as corrupt, never read as an empty session.
 */
export function parseRecord(key: string, value: string): RawSessionRecord {
  const end = value.indexOf(':', EXPIRY_DIGITS + 1);
  const expires = Number(value.slice(0, EXPIRY_DIGITS));
  const version = Number(value.slice(EXPIRY_DIGITS + 1, end));
  if (end < 0 || value.charCodeAt(EXPIRY_DIGITS) !== 58 || !Number.isSafeInteger(expires) || !(Number.isSafeInteger(version) && version > 0)) {
    throw new SessionCorruptError(key, new Error('the stored value lacks the botwire header "<expiresAt>:<version>:"'));
  }
  return { data: value.slice(end + 1), version, expiresAt: expires > 0 ? expires : undefined };
}
