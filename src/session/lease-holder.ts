/**
 * The fingerprint a lease's holder is shown by ({@link SessionLeaseInfo.holder}). A token fences
 * writes: with it a caller that reaches the backend could commit over the holder's head, so
 * inspection (and the dashboard on top of it) shows a hash of it instead.
 *
 * @module
 */

/**
 * The {@link SessionLeaseInfo.holder} fingerprint of a lease token: 8 hex digits of its 32-bit
 * FNV-1a hash. Compare it with what {@link SessionStore.inspect} reports to tell whether a lease
 * you hold is the one holding the key.
 *
 * @example
 * ```ts
 * import { leaseHolder } from 'botwire';
 * const lease = await store.acquire('chat:42');
 * const { lease: held } = await store.inspect('chat:42');
 * console.log(held?.holder === leaseHolder(lease.token)); // true
 * ```
 */
export function leaseHolder(token: string): string {
  // FNV-1a over UTF-16 code units: synchronous and edge-safe (no crypto.subtle await), and 32 bits
  // of a 128-bit-random token say nothing useful about the other 96.
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}
