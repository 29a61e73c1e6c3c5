import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BotwireConfigError } from '../src/errors.js';
import { createEnvelopeSigner, isSignedText, SIGNATURE_OVERHEAD } from '../src/sync/envelope-signing.js';
import { createHmacSha256, sha256 } from '../src/sync/hmac-sha256.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s);
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
const SECRET = '0123456789abcdef0123456789abcdef';

describe('HMAC-SHA-256 in plain TypeScript', () => {
  // RFC 4231 section 4, all seven test cases (case 5 compares the first 128 bits, as the RFC does).
  it.each([
    ['1', fill(20, 0x0b), bytes('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
    ['2', bytes('Jefe'), bytes('what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
    ['3', fill(20, 0xaa), fill(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
    ['4', Uint8Array.from({ length: 25 }, (_, i) => i + 1), fill(50, 0xcd), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b'],
    ['5', fill(20, 0x0c), bytes('Test With Truncation'), 'a3b6167473100ee06e0c796c2955552b'],
    ['6', fill(131, 0xaa), bytes('Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
    ['7', fill(131, 0xaa), bytes('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'), '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2'],
  ])('RFC 4231 test case %s', (_n, key, data, expected) => {
    expect(hex(createHmacSha256(key).mac(data)).slice(0, expected.length)).toBe(expected);
  });

  it('hashes like FIPS 180-4 (empty input and "abc")', () => {
    expect(hex(sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(sha256(bytes('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('equals node:crypto for every key and message length around the block boundaries', () => {
    for (const keyLength of [0, 1, 31, 32, 63, 64, 65, 200]) {
      const key = randomBytes(keyLength);
      const hmac = createHmacSha256(key);
      for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1_000, 70_000]) {
        const data = randomBytes(length);
        expect(hex(hmac.mac(data)), `key ${keyLength}, message ${length}`).toBe(createHmac('sha256', key).update(data).digest('hex'));
      }
    }
  });

  it('equals WebCrypto and reuses its state correctly across calls and partial lengths', async () => {
    const key = bytes(SECRET);
    const webKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const hmac = createHmacSha256(key);
    const data = randomBytes(300);
    for (const length of [0, 10, 64, 300]) {
      const expected = new Uint8Array(await crypto.subtle.sign('HMAC', webKey, data.subarray(0, length)));
      expect(hex(hmac.mac(data, length))).toBe(hex(expected));
    }
  });
});

describe('envelope signing', () => {
  const json = JSON.stringify({ id: 'a:1', topic: 'buttons.updated', data: { text: 'прив€т 🎉' }, at: 1, origin: 'a', seq: 1 });

  it('prefixes s1.<43 base64url chars>. and leaves the envelope JSON as it was', () => {
    const wire = createEnvelopeSigner(SECRET).sign(json);
    expect(wire).toMatch(/^s1\.[A-Za-z0-9_-]{43}\./);
    expect(wire.slice(SIGNATURE_OVERHEAD)).toBe(json);
    expect(wire.endsWith(',"origin":"a","seq":1}')).toBe(true);
    const expected = createHmac('sha256', SECRET).update(json, 'utf8').digest('base64url');
    expect(wire.slice(3, 46)).toBe(expected);
    expect(isSignedText(wire)).toBe(true);
    expect(isSignedText(json)).toBe(false);
  });

  it('verifies its own signatures and those of another signer with the same secret, long texts too', () => {
    const a = createEnvelopeSigner(SECRET);
    const b = createEnvelopeSigner(SECRET);
    expect(b.verify(a.sign(json))).toBe(json);
    const long = JSON.stringify({ blob: 'ж'.repeat(100_000) });
    expect(b.verify(a.sign(long))).toBe(long);
  });

  it('refuses unsigned, wrongly signed, altered and malformed texts, and says why', () => {
    const signer = createEnvelopeSigner(SECRET);
    const other = createEnvelopeSigner('another-secret-another-secret-xx');
    const signed = signer.sign(json);
    const cases: Array<[string, RegExp]> = [
      [json, /no signature/],
      [other.sign(json), /does not match/],
      [signed.replace('buttons', 'buttonz'), /does not match/],
      [signed.slice(0, 10) + (signed[10] === 'A' ? 'B' : 'A') + signed.slice(11), /does not match/],
      ['s1.short.' + json, /malformed/],
      ['s1.', /malformed/],
      ['', /no signature/],
    ];
    for (const [text, why] of cases) {
      expect(signer.verify(text), text.slice(0, 60)).toBeNull();
      expect(signer.why(text)).toMatch(why);
    }
  });

  it('refuses secrets shorter than 32 characters or not strings, saying how to make one', () => {
    for (const bad of ['', 'short', 'x'.repeat(31), 42, null]) {
      expect(() => createEnvelopeSigner(bad as string)).toThrow(BotwireConfigError);
    }
    expect(() => createEnvelopeSigner('x'.repeat(31))).toThrow(/openssl rand -hex 32/);
    expect(() => createEnvelopeSigner('x'.repeat(32))).not.toThrow();
  });
});
