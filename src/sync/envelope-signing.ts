/**
 * Signed envelopes: the wire format a SyncBus with a `secret` sends, and its verification.
 *
 * A signed text is `s1.<signature>.<envelope JSON>`: the version tag `s1`, a dot, the HMAC-SHA-256 of
 * the envelope JSON's UTF-8 bytes under the secret as 43 base64url characters (no padding), a dot,
 * then the envelope JSON byte for byte as an unsigned bus would send it. The signature stands outside
 * the JSON so the envelope is signed exactly as it travels (no canonical form to agree on), and the
 * text still ends like the envelope — the bus's own-echo shortcut reads only the end.
 *
 * Unsigned texts start with `{`, so both kinds tell themselves apart by their first character: a bus
 * without a secret recognises signed texts and says the fleet is misconfigured instead of "not JSON".
 *
 * @module
 */
import { BotwireConfigError } from '../errors.js';
import { createHmacSha256, type HmacSha256 } from './hmac-sha256.js';

/** Start of every signed text: format version 1. */
export const SIGNED_PREFIX = 's1.';
/** Characters of a base64url-encoded 32-byte signature. */
const SIGNATURE_CHARS = 43;
/** Bytes a signature adds in front of the envelope: `s1.` + 43 + `.`. */
export const SIGNATURE_OVERHEAD = SIGNED_PREFIX.length + SIGNATURE_CHARS + 1;
/** Shortest secret accepted: 32 characters (`openssl rand -hex 32` gives 64). */
export const MIN_SECRET_LENGTH = 32;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const encoder = new TextEncoder();
/** Texts up to this many UTF-16 units are encoded into a reused buffer instead of a fresh array. */
const SCRATCH_UNITS = 21_845;

/** Whether `text` is in the signed format (whether or not its signature is valid). */
export function isSignedText(text: string): boolean {
  return text.startsWith(SIGNED_PREFIX);
}

/** Check a `secret` option: a string of at least {@link MIN_SECRET_LENGTH} characters. */
export function assertSecret(secret: unknown): string {
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    const got = typeof secret === 'string' ? `${secret.length} characters` : typeof secret;
    throw new BotwireConfigError(
      `SyncBus \`secret\` must be a string of at least ${MIN_SECRET_LENGTH} characters, the same on every instance ` +
        `(got ${got}). Generate one with \`openssl rand -hex 32\` and pass it from your environment.`,
    );
  }
  return secret;
}

/** Signs envelope JSON and checks received texts for one secret. */
export interface EnvelopeSigner {
  /** The signed wire text for `json`. */
  sign(json: string): string;
  /** The envelope JSON of a correctly signed `text`, or `null` when the signature is missing or wrong. */
  verify(text: string): string | null;
  /** Why `verify(text)` refused `text` (for the error report; not on the hot path). */
  why(text: string): string;
}

/**
 * Create the signer of a bus. The HMAC key is the secret's UTF-8 bytes; its pads are hashed once
 * here, so each event costs two SHA-256 compressions plus one per 64 bytes of envelope.
 *
 * @example
 * ```ts
 * const signer = createEnvelopeSigner(process.env.SYNC_SECRET!);
 * const wire = signer.sign('{"id":"a:1",…}');   // 's1.<43 chars>.{"id":"a:1",…}'
 * signer.verify(wire);                           // '{"id":"a:1",…}'
 * ```
 */
export function createEnvelopeSigner(secret: string): EnvelopeSigner {
  const hmac: HmacSha256 = createHmacSha256(encoder.encode(assertSecret(secret)));
  const scratch = new Uint8Array(SCRATCH_UNITS * 3);
  const tag = new Uint8Array(32);

  /** MAC of `body` as base64url characters, without allocating bytes for short texts. */
  const macOf = (body: string): string => {
    if (body.length <= SCRATCH_UNITS) hmac.mac(scratch, encoder.encodeInto(body, scratch).written, tag);
    else hmac.mac(encoder.encode(body), undefined, tag);
    return base64url(tag);
  };

  return {
    sign(json) {
      return SIGNED_PREFIX + macOf(json) + '.' + json;
    },
    verify(text) {
      if (!text.startsWith(SIGNED_PREFIX) || text.charCodeAt(SIGNATURE_OVERHEAD - 1) !== 0x2e /* . */) return null;
      const body = text.slice(SIGNATURE_OVERHEAD);
      const expected = macOf(body);
      // Constant time over the signature: how far a guess matched must not show in the timing.
      let diff = 0;
      for (let i = 0; i < SIGNATURE_CHARS; i++) diff |= expected.charCodeAt(i) ^ text.charCodeAt(SIGNED_PREFIX.length + i);
      return diff === 0 ? body : null;
    },
    why(text) {
      if (!isSignedText(text)) {
        return 'it carries no signature (sent by an instance without `secret`, or forged)';
      }
      if (text.charCodeAt(SIGNATURE_OVERHEAD - 1) !== 0x2e) return 'its signature is malformed';
      return 'its signature does not match (sent by an instance with another `secret`, altered, or forged)';
    },
  };
}

const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const chars: number[] = new Array<number>(SIGNATURE_CHARS).fill(0);

/** Unpadded base64url of 32 bytes (43 characters), built as one string. */
function base64url(bytes: Uint8Array): string {
  let o = 0;
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    chars[o++] = CODES[n >>> 18]!; chars[o++] = CODES[(n >>> 12) & 63]!; chars[o++] = CODES[(n >>> 6) & 63]!; chars[o++] = CODES[n & 63]!;
  }
  // 32 = 3 · 10 + 2: two bytes left, three characters.
  const n = (bytes[i]! << 8) | bytes[i + 1]!;
  chars[o++] = CODES[n >>> 10]!; chars[o++] = CODES[(n >>> 4) & 63]!; chars[o] = CODES[(n << 2) & 63]!;
  return String.fromCharCode.apply(null, chars);
}
