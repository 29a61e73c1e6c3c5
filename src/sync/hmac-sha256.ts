/**
 * HMAC-SHA-256 (RFC 2104 over FIPS 180-4) in plain TypeScript, synchronous and edge-safe.
 *
 * Why not WebCrypto: `crypto.subtle.sign`/`verify` are asynchronous, and in Node each call costs a
 * thread-pool round trip (measured 12 µs per call with 500 in flight, 50–65 µs one at a time,
 * against 2.6 µs here for a 259-byte envelope), while the bus signs and verifies one short text per
 * event and must deliver in order. A synchronous MAC keeps delivery synchronous and in order with no
 * queue. Large texts are slower here than in native code (about 170 MB/s: 6 ms per MiB). Outputs
 * are checked against RFC 4231 and against `node:crypto`/WebCrypto in
 * `test/sync-envelope-signing.test.ts`.
 *
 * @module
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H0 = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;

/** Message schedule, shared: the functions here never yield, so one scratch array serves every call. */
const W = new Int32Array(64);

/**
 * Run the compression function over every whole 64-byte block of `data[pos, end)`; returns where it
 * stopped. The working state stays in locals across blocks (about 30 % faster in V8 than reading
 * `state` per block; unrolling the rounds measured no gain).
 */
function compress(state: Int32Array, data: Uint8Array, pos: number, end: number): number {
  let h0 = state[0]!, h1 = state[1]!, h2 = state[2]!, h3 = state[3]!, h4 = state[4]!, h5 = state[5]!, h6 = state[6]!, h7 = state[7]!;
  while (end - pos >= BLOCK) {
    for (let i = 0; i < 16; i++, pos += 4) {
      W[i] = (data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!;
    }
    for (let i = 16; i < 64; i++) {
      const x = W[i - 15]!;
      const y = W[i - 2]!;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + (g ^ (e & (f ^ g))) + ((K[i]! + W[i]!) | 0)) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (c & (a ^ b)))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0;
      d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
  }
  state[0] = h0; state[1] = h1; state[2] = h2; state[3] = h3;
  state[4] = h4; state[5] = h5; state[6] = h6; state[7] = h7;
  return pos;
}

const tail = new Uint8Array(BLOCK * 2);

/**
 * Finish a hash whose state already absorbed `prefixBytes` bytes (a whole number of blocks): hash
 * `data[start, end)`, pad, and write the 32-byte digest to `out`.
 */
function finish(state: Int32Array, prefixBytes: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void {
  const pos = compress(state, data, start, end);
  const rest = end - pos;
  const size = rest + 9 > BLOCK ? BLOCK * 2 : BLOCK;
  for (let i = 0; i < rest; i++) tail[i] = data[pos + i]!;
  tail[rest] = 0x80;
  for (let i = rest + 1; i < size - 8; i++) tail[i] = 0;
  const totalBytes = prefixBytes + end - start;
  const hi = Math.floor(totalBytes / 0x20000000); // high 32 bits of the bit length
  const lo = (totalBytes * 8) >>> 0;
  tail[size - 8] = hi >>> 24; tail[size - 7] = hi >>> 16; tail[size - 6] = hi >>> 8; tail[size - 5] = hi;
  tail[size - 4] = lo >>> 24; tail[size - 3] = lo >>> 16; tail[size - 2] = lo >>> 8; tail[size - 1] = lo;
  compress(state, tail, 0, size);
  for (let i = 0; i < 8; i++) {
    const v = state[i]!;
    out[i * 4] = v >>> 24; out[i * 4 + 1] = v >>> 16; out[i * 4 + 2] = v >>> 8; out[i * 4 + 3] = v;
  }
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  finish(H0.slice(), 0, data, 0, data.length, out);
  return out;
}

/** A keyed HMAC-SHA-256: the key's inner and outer pad blocks are hashed once, at creation. */
export interface HmacSha256 {
  /** The 32-byte MAC of `data[0, length)` (`length` defaults to all of `data`), written to `out` when given. */
  mac(data: Uint8Array, length?: number, out?: Uint8Array): Uint8Array;
}

/**
 * Create an HMAC-SHA-256 for `key` (keys over 64 bytes are hashed first, as RFC 2104 says).
 *
 * @example
 * ```ts
 * const hmac = createHmacSha256(new TextEncoder().encode(secret));
 * const tag = hmac.mac(new TextEncoder().encode('message'));
 * ```
 */
export function createHmacSha256(key: Uint8Array): HmacSha256 {
  const k = new Uint8Array(BLOCK);
  k.set(key.length > BLOCK ? sha256(key) : key);
  const pad = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ 0x36;
  const inner = H0.slice();
  compress(inner, pad, 0, BLOCK);
  for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ 0x5c;
  const outer = H0.slice();
  compress(outer, pad, 0, BLOCK);
  const state = new Int32Array(8);
  const innerDigest = new Uint8Array(32);
  return {
    mac(data, length = data.length, out = new Uint8Array(32)) {
      state.set(inner);
      finish(state, BLOCK, data, 0, length, innerDigest);
      state.set(outer);
      finish(state, BLOCK, innerDigest, 0, 32, out);
      return out;
    },
  };
}
