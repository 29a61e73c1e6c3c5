/**
 * Fencing tokens for leases (sessions, jobs). A token only has to be unique across the fleet, not
 * unguessable: it is never a credential. 128 random bits drawn once per process plus a counter give
 * that, at a fraction of `crypto.randomUUID()`'s cost on paths that take one token per update.
 *
 * @module
 */

const bytes = crypto.getRandomValues(new Uint8Array(16));
const PROCESS_ID = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
let counter = 0;

/** A token unique across processes and calls: `<32 hex chars of process randomness>.<counter>`. */
export function newToken(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_ID}.${counter.toString(36)}`;
}
