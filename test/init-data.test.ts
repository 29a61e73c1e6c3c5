import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BotwireConfigError, InitDataError, verifyInitData } from 'botwire';

const TOKEN = '123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-oA';
const OTHER = '987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';
const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);
const authDate = String(Math.floor(NOW / 1000) - 60);
const user = JSON.stringify({ id: 42, first_name: 'Анна', username: 'anna', language_code: 'ru', allows_write_to_pm: true });

/** Sign fields the way Telegram does (node:crypto, independent of the code under test). */
function sign(fields: Record<string, string>, token = TOKEN, exclude: string[] = []): string {
  const check = Object.keys(fields).filter((k) => !exclude.includes(k)).sort().map((k) => `${k}=${fields[k]}`).join('\n');
  const secret = createHmac('sha256', 'WebAppData').update(token).digest();
  const hash = createHmac('sha256', secret).update(check).digest('hex');
  return new URLSearchParams({ ...fields, hash }).toString();
}

const base = { query_id: 'AAHdF6IQAAAAAN0XohDhrOrc', user, auth_date: authDate, start_param: 'ref_7' };
const opts = { now: () => NOW };

describe('verifyInitData', () => {
  it('accepts data signed for this bot and decodes its fields', async () => {
    const v = await verifyInitData(sign(base), TOKEN, opts);
    expect(v.user).toMatchObject({ id: 42, first_name: 'Анна', username: 'anna' });
    expect(v.authDate.getTime()).toBe(Number(authDate) * 1000);
    expect(v).toMatchObject({ queryId: 'AAHdF6IQAAAAAN0XohDhrOrc', startParam: 'ref_7' });
    expect(v.fields.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts a `signature` field whether or not the client signed it into the hash', async () => {
    const withSig = { ...base, signature: 'c2lnbmF0dXJl' };
    await expect(verifyInitData(sign(withSig), TOKEN, opts)).resolves.toMatchObject({ user: { id: 42 } });
    await expect(verifyInitData(sign(withSig, TOKEN, ['signature']), TOKEN, opts)).resolves.toMatchObject({ user: { id: 42 } });
  });

  const refused: Array<[string, () => string, string, ...string[]]> = [
    ['a tampered user', () => sign(base).replace('anna', 'admin'), 'bad_hash'],
    ['a tampered hash', () => sign(base).replace(/hash=([0-9a-f])/, (_m, c: string) => `hash=${c === '0' ? '1' : '0'}`), 'bad_hash'],
    ['a hash of another length', () => `${sign(base)}00`, 'bad_hash'],
    ['data signed with another bot token', () => sign(base, OTHER), 'bad_hash'],
    ['an added field', () => `${sign(base)}&is_admin=true`, 'bad_hash'],
    ['no hash', () => new URLSearchParams(base).toString(), 'missing_hash'],
    ['a field twice', () => `${sign(base)}&user=${encodeURIComponent(user)}`, 'malformed'],
    ['an expired auth_date', () => sign({ ...base, auth_date: String(Math.floor(NOW / 1000) - 86_401) }), 'expired'],
    ['an auth_date in the future', () => sign({ ...base, auth_date: String(Math.floor(NOW / 1000) + 3_600) }), 'expired'],
    ['no auth_date', () => sign({ query_id: 'x', user }), 'malformed'],
    ['a user that is not JSON', () => sign({ ...base, user: '{id:' }), 'malformed'],
    ['an empty string', () => '', 'malformed'],
  ];
  it.each(refused)('refuses %s with InitDataError(%s)', async (_what, make, reason) => {
    const err = await verifyInitData(make(), TOKEN, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InitDataError);
    expect(err).toMatchObject({ code: 'INIT_DATA', reason });
  });

  it('honours maxAgeSec', async () => {
    const old = sign({ ...base, auth_date: String(Math.floor(NOW / 1000) - 600) });
    await expect(verifyInitData(old, TOKEN, { ...opts, maxAgeSec: 3_600 })).resolves.toBeDefined();
    await expect(verifyInitData(old, TOKEN, { ...opts, maxAgeSec: 300 })).rejects.toMatchObject({ reason: 'expired' });
  });

  it('refuses a malformed bot token or maxAgeSec as configuration errors', async () => {
    await expect(verifyInitData(sign(base), 'not-a-token', opts)).rejects.toBeInstanceOf(BotwireConfigError);
    await expect(verifyInitData(sign(base), TOKEN, { ...opts, maxAgeSec: 0 })).rejects.toBeInstanceOf(BotwireConfigError);
  });
});
