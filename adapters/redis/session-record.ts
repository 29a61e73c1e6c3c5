/**
 * The layout of a Redis session record — ONE string `<expiresAt, 15 digits>:<version>:<json>` — and
 * of its lease — `<acquiredAt, 15 digits>:<token>` — and the decoding of the session scripts'
 * replies.
 *
 * @module
 */
import type { CasResult, CommitResult, RawSessionInspection, RawSessionRecord } from 'botwire';
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

/** `ms` as the 15 zero-padded digits that start a record or lease value. */
const stamp = (ms: number): string => String(Math.min(ms, MAX_EXPIRY)).padStart(EXPIRY_DIGITS, '0');

/**
 * The value of a lease taken now: `<now:15>:<token>`. The time rides along in the value the lease
 * key holds anyway, so taking a lease stays one `SET NX` and the scripts compare tokens from byte 17.
 */
export function leaseValue(token: string): string {
  return `${stamp(Date.now())}:${token}`;
}

/** A commit's keep field: `<ms>,<now:15>` (the time of a lapsed lease taken anew). */
export function keepField(keepLeaseMs: number): string {
  return `${Math.ceil(keepLeaseMs)},${stamp(Date.now())}`;
}

/** Decode session-inspect's `[record, lease value, lease PTTL]`. */
export function parseInspection(key: string, reply: unknown): RawSessionInspection {
  const [value, lease, pttl] = reply as [string | null, string | null, number];
  const record = value === null ? undefined : parseRecord(key, value);
  const expiresInMs = Number(pttl);
  if (typeof lease !== 'string' || !(expiresInMs > 0)) return { record, lease: undefined };
  const head = lease.slice(0, EXPIRY_DIGITS);
  if (lease.charCodeAt(EXPIRY_DIGITS) !== 58 || !/^\d+$/.test(head)) {
    // A bare token: taken by a botwire from before lease values carried their time.
    return { record, lease: { token: lease, heldMs: undefined, expiresInMs } };
  }
  // The time comes from the clock of the process that took the lease: never report a negative age.
  return { record, lease: { token: lease.slice(EXPIRY_DIGITS + 1), heldMs: Math.max(0, Date.now() - Number(head)), expiresInMs } };
}

/** The header start `<expiresAt:15>:` for a write with `ttlMs` (fixed width, so touch can patch it in place). */
export function expiryHeader(ttlMs: number | undefined): string {
  if (ttlMs === undefined) return NO_EXPIRY;
  return `${stamp(Date.now() + Math.ceil(ttlMs))}:`;
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
