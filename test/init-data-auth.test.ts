import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createMemorySyncHub, memorySyncBus, memoryJobQueue } from 'botwire/memory';
import { connectSync, type WebSocketConstructor } from 'botwire/client';
import { createSyncGateway, initDataAuthorizer } from 'botwire/ws';
import { initDataAuth, initDataJobsAuthorize, jobsHttpHandler } from 'botwire/http';
import { BotwireConfigError, type InitDataError } from 'botwire';
import { initDataToken } from 'botwire/client';
import { initDataFromToken } from '../src/telegram/init-data-token.js';
import type { SyncEnvelope } from 'botwire/sync';
import type { AckFrame, ErrorFrame, EventFrame } from '../src/sync/protocol.js';
import { connectPeer } from './support/ws-peer.js';

const TOKEN = '123456789:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-oA';
const OTHER = '987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';
const WS = WebSocket as unknown as WebSocketConstructor;

/** Sign fields the way Telegram does (node:crypto, independent of the code under test). */
function sign(userId: number, { token = TOKEN, ageSec = 10 } = {}): string {
  const fields: Record<string, string> = {
    user: JSON.stringify({ id: userId, first_name: 'Анна' }), auth_date: String(Math.floor(Date.now() / 1000) - ageSec), query_id: 'Q1',
  };
  const check = Object.keys(fields).sort().map((k) => `${k}=${fields[k]}`).join('\n');
  const secret = createHmac('sha256', 'WebAppData').update(token).digest();
  return new URLSearchParams({ ...fields, hash: createHmac('sha256', secret).update(check).digest('hex') }).toString();
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function gatewayWithInitData() {
  const bus = memorySyncBus({ hub: createMemorySyncHub() });
  const refused: InitDataError[] = [];
  const gateway = await createSyncGateway({
    bus, port: 0, host: '127.0.0.1', onError: () => {},
    authorize: initDataAuthorizer({ botToken: TOKEN, maxAgeSec: 3_600, topics: (user) => [`users.${user.id}.*`], onRefused: (e) => refused.push(e) }),
  });
  cleanups.push(async () => { await gateway.close(); await bus.close(); });
  return { bus, gateway, refused, url: `ws://127.0.0.1:${gateway.port}/sync` };
}

describe('initDataAuthorizer on a real gateway', () => {
  it('admits a signed Mini App user, scoped to users.<id>.*, with the user id as connection id', async () => {
    const { bus, gateway, url } = await gatewayWithInitData();
    const peer = await connectPeer(url, { token: initDataToken(sign(42)) });
    cleanups.push(() => peer.close());
    peer.send({ type: 'subscribe', id: 's', patterns: ['users.42.*', 'users.43.*'] });
    expect(await peer.next<ErrorFrame>((f) => f.type === 'error')).toMatchObject({ code: 'forbidden', patterns: ['users.43.*'] });
    expect((await peer.next<AckFrame>((f) => f.type === 'ack')).patterns).toEqual(['users.42.*']);
    await bus.publish('users.43.balance', { v: 1 });
    await bus.publish('users.42.balance', { v: 2 });
    const ev = await peer.next<EventFrame>((f) => f.type === 'event');
    expect(ev.envelope).toMatchObject({ topic: 'users.42.balance', data: { v: 2 } });
    expect(gateway.disconnect('42')).toBe(1);
  });

  it('accepts the raw initData as ?token= too', async () => {
    const { url } = await gatewayWithInitData();
    const peer = await connectPeer(url, { token: sign(7), via: 'query' });
    cleanups.push(() => peer.close());
    peer.send({ type: 'subscribe', id: 's', patterns: ['users.7.*'] });
    expect((await peer.next<AckFrame>((f) => f.type === 'ack')).patterns).toEqual(['users.7.*']);
  });

  it.each([
    ['a tampered user', () => initDataToken(sign(42).replace('%3A42', '%3A43')), 'bad_hash'],
    ['another bot\'s data', () => initDataToken(sign(42, { token: OTHER })), 'bad_hash'],
    ['expired data', () => initDataToken(sign(42, { ageSec: 7_200 })), 'expired'],
  ])('refuses %s with 401', async (_name, token, reason) => {
    const { url, refused } = await gatewayWithInitData();
    await expect(connectPeer(url, { token: token() })).rejects.toThrow(/401/);
    expect(refused.map((e) => e.reason)).toEqual([reason]);
  });

  it('refuses a connection without a token, or with a token that is not initData', async () => {
    const { url } = await gatewayWithInitData();
    await expect(connectPeer(url)).rejects.toThrow(/401/);
    await expect(connectPeer(url, { token: 'tma.%%%' , via: 'query' })).rejects.toThrow(/401/);
  });

  it('connectSync from botwire/client with initDataToken receives the user\'s events', async () => {
    const { bus, url } = await gatewayWithInitData();
    const sync = connectSync(url, { token: () => initDataToken(sign(42)), WebSocket: WS });
    cleanups.push(() => sync.close());
    const got: SyncEnvelope[] = [];
    sync.on('users.42.*', (e) => { got.push(e); });
    // Published until the subscription is live (the client has no ack callback).
    for (let i = 0; i < 150 && got.length === 0; i++) {
      await bus.publish('users.42.order', { id: i });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(sync.state).toBe('open');
    expect(got.length).toBeGreaterThan(0);
    expect(new Set(got.map((e) => e.topic))).toEqual(new Set(['users.42.order']));
  });

  it('refuses bad options at construction', () => {
    expect(() => initDataAuthorizer({ botToken: 'nope', topics: () => [] })).toThrow(BotwireConfigError);
    expect(() => initDataAuthorizer({ botToken: TOKEN } as never)).toThrow(/topics/);
  });
});

describe('initData tokens', () => {
  it('round-trip through base64url and stay subprotocol-safe', () => {
    const raw = sign(42);
    const token = initDataToken(raw);
    expect(token).toMatch(/^tma\.[A-Za-z0-9_-]+$/);
    expect(initDataFromToken(token)).toBe(raw);
    expect(initDataFromToken(raw)).toBe(raw);
  });
});

describe('initData on botwire/http', () => {
  const queue = memoryJobQueue({ handlers: { report: async () => 'ok' } });
  const handle = jobsHttpHandler({
    queue,
    authorize: initDataJobsAuthorize({ botToken: TOKEN, allow: (user, _action, subject) => (subject.payload as { userId?: number } | null)?.userId === user.id }),
  });
  const post = (payload: unknown, authorization?: string) => handle(new Request('http://bot.test/jobs/report', {
    method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, body: JSON.stringify(payload),
  }));

  it('lets a Mini App user start only their own jobs', async () => {
    expect((await post({ userId: 42 }, `tma ${sign(42)}`)).status).toBe(201);
    expect((await post({ userId: 42 }, `Bearer ${initDataToken(sign(42))}`)).status).toBe(201);
    expect((await post({ userId: 43 }, `tma ${sign(42)}`)).status).toBe(403);
    expect((await post({ userId: 42 }, `tma ${sign(42, { token: OTHER })}`)).status).toBe(403);
    expect((await post({ userId: 42 })).status).toBe(403);
  });

  it('initDataAuth resolves with the verified user or undefined', async () => {
    const userOf = initDataAuth({ botToken: TOKEN, maxAgeSec: 60 });
    const req = (authorization: string) => new Request('http://bot.test/', { headers: { authorization } });
    expect((await userOf(req(`tma ${sign(5)}`)))?.user.id).toBe(5);
    expect(await userOf(req(`tma ${sign(5, { ageSec: 120 })}`))).toBeUndefined();
    expect(await userOf(req('Bearer something-else'))).toBeUndefined();
  });
});
