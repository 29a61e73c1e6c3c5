/**
 * Fencing tokens for leases (sessions, jobs). A token only has to be unique across the fleet, not
 * unguessable: it is never a credential. 128 random bits drawn once per process plus a counter give
 * that, at a fraction of `crypto.randomUUID()`'s cost on paths that take one token per update.
 *
 * @module
 */

// Math.random, not crypto.getRandomValues: the engine seeds it from the OS's entropy when the
// process starts, which is all uniqueness needs, and touching `crypto` at import makes Node load
// its WebCrypto module (~3 ms of every cold start). Four 32-bit draws plus the start time.
const word = (): string => Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
const PROCESS_ID = `${word()}${word()}${word()}${word()}${Math.floor(performance.timeOrigin).toString(36)}`;
let counter = 0;

/** A token unique across processes and calls: `<process randomness and start time>.<counter>`. */
export function newToken(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return `${PROCESS_ID}.${counter.toString(36)}`;
}
