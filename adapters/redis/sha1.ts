/**
 * SHA-1 of a string's UTF-8 bytes, as hex: the name Redis gives a script (EVALSHA, SCRIPT LOAD).
 * Plain JavaScript rather than `node:crypto`, whose loading alone took ~3.7 ms of the adapter's
 * cold import; scripts are hashed once each, on first use.
 *
 * @module
 */
const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));

/** Hex SHA-1 digest of `text` encoded as UTF-8. Not for security: Redis uses it as a cache key. */
export function sha1Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const blocks = ((bytes.length + 8) >>> 6) + 1;
  const words = new Uint32Array(blocks * 16);
  for (let i = 0; i < bytes.length; i++) words[i >>> 2] = words[i >>> 2]! | (bytes[i]! << (24 - (i & 3) * 8));
  words[bytes.length >>> 2] = words[bytes.length >>> 2]! | (0x80 << (24 - (bytes.length & 3) * 8));
  words[blocks * 16 - 2] = Math.floor(bytes.length / 0x20000000);
  words[blocks * 16 - 1] = (bytes.length * 8) >>> 0;
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Uint32Array(80);
  for (let block = 0; block < blocks; block++) {
    for (let t = 0; t < 80; t++) w[t] = t < 16 ? words[block * 16 + t]! : rotl(w[t - 3]! ^ w[t - 8]! ^ w[t - 14]! ^ w[t - 16]!, 1);
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let t = 0; t < 80; t++) {
      const f = t < 20 ? (b & c) | (~b & d) : t < 40 || t >= 60 ? b ^ c ^ d : (b & c) | (b & d) | (c & d);
      const k = t < 20 ? 0x5a827999 : t < 40 ? 0x6ed9eba1 : t < 60 ? 0x8f1bbcdc : 0xca62c1d6;
      const next = (rotl(a, 5) + f + e + k + w[t]!) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = next;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0;
  }
  return h.map((x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
}
