import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemorySyncHub, memorySyncBus } from 'botwire/memory';
import { createSyncGateway, safeEqual, SyncCloseCode, type SyncGateway, type SyncGatewayOptions } from 'botwire/ws';
import { Connection, type GatewayCore } from '../integrations/ws/connection.js';
import { ReplayBuffer } from '../integrations/ws/replay-buffer.js';
import type { AckFrame, ErrorFrame, EventFrame, ResyncFrame } from '../src/sync/protocol.js';
import { connectPeer, type Peer } from './support/ws-peer.js';

const TOKENS: Record<string, { allow: string[]; id: string }> = {
  admin: { allow: ['**'], id: 'admin' },
  user1: { allow: ['users.1.*', 'buttons.*'], id: 'user1' },
};

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(extra: Partial<SyncGatewayOptions> = {}) {
  const hub = createMemorySyncHub();
  const bus = memorySyncBus({ hub });
  const errors: unknown[] = [];
  const gateway = await createSyncGateway({
    bus, port: 0, host: '127.0.0.1',
    authorize: (_req, { token }) => {
      for (const [secret, grant] of Object.entries(TOKENS)) if (token && safeEqual(token, secret)) return grant;
      return false;
    },
    onError: (e) => errors.push(e),
    ...extra,
  });
  const url = `ws://127.0.0.1:${gateway.port}/sync`;
  const peers: Peer[] = [];
  const open = async (token = 'admin', opts: Parameters<typeof connectPeer>[1] = {}) => {
    const p = await connectPeer(url, { token, ...opts });
    peers.push(p);
    return p;
  };
  cleanups.push(async () => {
    for (const p of peers) p.ws.terminate();
    await gateway.close();
    await bus.close();
  });
  return { hub, bus, gateway, url, open, errors };
}

const isEvent = (topic: string) => (f: { type: string }) => f.type === 'event' && (f as EventFrame).envelope.topic === topic;
const isAck = (f: { type: string }) => f.type === 'ack';

async function subscribed(peer: Peer, patterns: string[], id = 's'): Promise<AckFrame> {
  peer.send({ type: 'subscribe', id, patterns });
  return peer.next<AckFrame>((f) => f.type === 'ack' && (f as AckFrame).id === id);
}

describe('sync gateway: authentication', () => {
  it('refuses an upgrade without a token, or with a wrong one, with HTTP 401', async () => {
    const { url } = await setup();
    await expect(connectPeer(url)).rejects.toMatchObject({ status: 401 });
    await expect(connectPeer(url, { token: 'nope' })).rejects.toMatchObject({ status: 401 });
    await expect(connectPeer(url, { token: 'admi' })).rejects.toMatchObject({ status: 401 });
  });

  it('accepts the token from the Authorization header, the bearer subprotocol and the query string', async () => {
    const { open } = await setup();
    for (const via of ['header', 'protocol', 'query'] as const) {
      const p = await open('admin', { via });
      expect(p.frames[0]).toMatchObject({ type: 'hello', v: 1 });
      if (via === 'protocol') expect(p.ws.protocol).toBe('botwire-sync.v1');
    }
  });

  it('answers 500 when authorize throws, reports it, and keeps serving', async () => {
    let fail = true;
    const { url, errors, open } = await setup({ authorize: () => { if (fail) throw new Error('auth db down'); return { allow: ['**'] }; } });
    await expect(connectPeer(url, { token: 'x' })).rejects.toMatchObject({ status: 500 });
    expect(String(errors[0])).toContain('auth db down');
    fail = false;
    await open('x');
  });

  it('closes the connections of a revoked id with 4401', async () => {
    const { open, gateway } = await setup();
    const p = await open('user1');
    const other = await open('admin');
    expect(gateway.disconnect('user1')).toBe(1);
    expect((await p.closed).code).toBe(4401);
    expect(other.ws.readyState).toBe(other.ws.OPEN);
  });
});

describe('sync gateway: subscriptions', () => {
  it('delivers only the subscribed topics', async () => {
    const { open, bus } = await setup();
    const p = await open();
    await subscribed(p, ['buttons.*']);
    await bus.publish('scenarios.updated', { id: 1 });
    await bus.publish('buttons.updated', { id: 2 });
    const ev = await p.next<EventFrame>(isEvent('buttons.updated'));
    expect(ev.envelope.data).toEqual({ id: 2 });
    expect(p.frames.some((f) => f.type === 'event' && f.envelope.topic === 'scenarios.updated')).toBe(false);
  });

  it('denies patterns outside the allowed ones with a forbidden error and never delivers them', async () => {
    const { open, bus } = await setup();
    const p = await open('user1');
    p.send({ type: 'subscribe', id: 'a', patterns: ['users.2.*', 'users.1.*', '**', 'users.*.balance'] });
    const err = await p.next<ErrorFrame>((f) => f.type === 'error');
    expect(err).toMatchObject({ code: 'forbidden', id: 'a', patterns: ['users.2.*', '**', 'users.*.balance'] });
    const ack = await p.next<AckFrame>(isAck);
    expect(ack.patterns).toEqual(['users.1.*']);
    await bus.publish('users.2.balance', { v: 1 });
    await bus.publish('users.1.balance', { v: 2 });
    const ev = await p.next<EventFrame>((f) => f.type === 'event');
    expect(ev.envelope.topic).toBe('users.1.balance');
    expect(p.frames.filter((f) => f.type === 'event')).toHaveLength(1);
  });

  it('refuses subscriptions past maxSubscriptions and keeps the earlier ones', async () => {
    const { open, bus } = await setup({ maxSubscriptions: 2 });
    const p = await open();
    p.send({ type: 'subscribe', id: 'a', patterns: ['a.*', 'b.*', 'c.*', 'd.*'] });
    const err = await p.next<ErrorFrame>((f) => f.type === 'error');
    expect(err).toMatchObject({ code: 'too_many_subscriptions', patterns: ['c.*', 'd.*'] });
    expect((await p.next<AckFrame>(isAck)).patterns).toEqual(['a.*', 'b.*']);
    await bus.publish('c.x');
    await bus.publish('b.x');
    expect((await p.next<EventFrame>((f) => f.type === 'event')).envelope.topic).toBe('b.x');
  });

  it('closes with 4429 when a connection keeps asking past the limit', async () => {
    const { open } = await setup({ maxSubscriptions: 1, maxBadFrames: 2 });
    const p = await open();
    for (let i = 0; i < 4; i++) p.send({ type: 'subscribe', patterns: [`t${i}.*`] });
    expect((await p.closed).code).toBe(4429);
  });

  it('stops delivering after unsubscribe', async () => {
    const { open, bus } = await setup();
    const p = await open();
    await subscribed(p, ['a.*']);
    p.send({ type: 'unsubscribe', id: 'u', patterns: ['a.*'] });
    await p.next((f) => f.type === 'ack' && f.id === 'u');
    await bus.publish('a.b');
    p.send({ type: 'ping', id: 'p' });
    await p.next((f) => f.type === 'pong');
    expect(p.frames.some((f) => f.type === 'event')).toBe(false);
  });
});

describe('sync gateway: hostile frames', () => {
  it('answers malformed frames with error frames and keeps serving this and other connections', async () => {
    const { open, bus } = await setup({ maxBadFrames: 50 });
    const bad = await open();
    const good = await open();
    await subscribed(good, ['x.*']);
    const hostile: (string | Buffer)[] = [
      'not json', '[1,2]', 'null', '"str"', '{"type":"subscribe","patterns":"x.*"}', '{"type":"subscribe","patterns":[1]}',
      '{"type":"resume","epoch":"e","lastSeq":-1}', '{"type":"nope"}', '{"patterns":[]}', '{"type":"subscribe","patterns":[],"id":{}}',
      Buffer.from([1, 2, 3]), '{"type":"ping","v":2}', '{"__proto__":{"type":"ping"}}',
    ];
    for (const h of hostile) bad.sendRaw(h);
    for (let i = 0; i < hostile.length - 2; i++) {
      expect((await bad.next<ErrorFrame>((f) => f.type === 'error')).code).toBe('malformed');
    }
    expect((await bad.next<ErrorFrame>((f) => f.type === 'error')).code).toBe('unsupported_version');
    expect((await bad.next<ErrorFrame>((f) => f.type === 'error')).code).toBe('malformed');
    bad.send({ type: 'subscribe', patterns: ['bad..pattern', '$resync', 'a.**.b'] });
    expect(await bad.next<ErrorFrame>((f) => f.type === 'error')).toMatchObject({ code: 'invalid_pattern', patterns: ['bad..pattern', '$resync', 'a.**.b'] });
    await bus.publish('x.y', 1);
    expect((await good.next<EventFrame>(isEvent('x.y'))).envelope.data).toBe(1);
  });

  it('closes with 4400 after more than maxBadFrames malformed frames', async () => {
    const { open } = await setup({ maxBadFrames: 3 });
    const p = await open();
    for (let i = 0; i < 5; i++) p.sendRaw('{');
    expect((await p.closed).code).toBe(4400);
  });

  it('answers an oversized frame with too_large and closes with 4413; others are unaffected', async () => {
    const { open, bus } = await setup({ maxFrameBytes: 1024 });
    const big = await open();
    const other = await open();
    await subscribed(other, ['**']);
    big.send({ type: 'subscribe', patterns: ['a.*'], pad: 'x'.repeat(2000) });
    expect((await big.next<ErrorFrame>((f) => f.type === 'error')).code).toBe('too_large');
    expect((await big.closed).code).toBe(4413);
    await bus.publish('still.alive');
    await other.next(isEvent('still.alive'));
  });

  it('cuts far larger frames at the transport (1009) without crashing', async () => {
    const { open } = await setup({ maxFrameBytes: 256 });
    const huge = await open();
    huge.sendRaw('x'.repeat(200_000));
    expect((await huge.closed).code).toBe(1009);
    await open();
  });
});

describe('sync gateway: heartbeat', () => {
  it('drops a connection that stops answering pings and keeps a live one', async () => {
    const { open, gateway } = await setup({ heartbeatMs: 100 });
    const dead = await open('admin', { autoPong: false });
    const live = await open();
    const { code } = await dead.closed;
    expect(code).toBe(4408);
    expect(live.ws.readyState).toBe(live.ws.OPEN);
    await vi.waitFor(() => expect(gateway.connections).toBe(1));
  });
});

describe('sync gateway: resume and resync', () => {
  it('sends a resuming client exactly the events it missed, in order, then acks', async () => {
    const { open, bus } = await setup();
    const first = await open();
    const hello = first.frames[0] as { epoch: string };
    await subscribed(first, ['orders.*']);
    await bus.publish('orders.1');
    const seen = await first.next<EventFrame>(isEvent('orders.1'));
    await first.close();
    await bus.publish('orders.2', { n: 2 });
    await bus.publish('other.x');
    await bus.publish('orders.3', { n: 3 });

    const again = await open();
    await subscribed(again, ['orders.*']);
    await bus.publish('orders.4'); // live after subscribing: must not be replayed again
    again.send({ type: 'resume', id: 'r', epoch: hello.epoch, lastSeq: seen.seq });
    await again.next((f) => f.type === 'ack' && f.id === 'r');
    const topics = again.frames.filter((f): f is EventFrame => f.type === 'event').map((f) => f.envelope.topic);
    expect(topics).toEqual(['orders.4', 'orders.2', 'orders.3']);
  });

  it('tells a client that fell out of the replay buffer to resync', async () => {
    const { open, bus, gateway } = await setup({ replayBufferSize: 3 });
    const p = await open();
    const epoch = (p.frames[0] as { epoch: string }).epoch;
    const lastSeq = gateway.seq;
    for (let i = 0; i < 5; i++) await bus.publish('t.x', i);
    await subscribed(p, ['t.*']);
    p.send({ type: 'resume', epoch, lastSeq });
    expect(await p.next<ResyncFrame>((f) => f.type === 'resync')).toMatchObject({ reason: 'buffer', epoch, seq: gateway.seq });
    p.send({ type: 'resume', epoch, lastSeq: gateway.seq - 3 });
    await p.next(isAck);
    expect(p.frames.filter((f) => f.type === 'event')).toHaveLength(3);
  });

  it('tells a client resuming against another gateway run to resync', async () => {
    const { open } = await setup();
    const p = await open();
    p.send({ type: 'resume', epoch: 'someone-else', lastSeq: 5 });
    expect((await p.next<ResyncFrame>((f) => f.type === 'resync')).reason).toBe('epoch');
  });

  it('relays a bus $resync to every client, and to clients resuming from before it', async () => {
    const { open, hub, gateway } = await setup();
    const a = await open();
    const b = await open('user1');
    const before = gateway.seq;
    hub.setDown(true);
    hub.setDown(false);
    for (const p of [a, b]) expect((await p.next<ResyncFrame>((f) => f.type === 'resync')).reason).toBe('bus');
    const late = await open();
    late.send({ type: 'resume', epoch: gateway.epoch, lastSeq: before });
    expect((await late.next<ResyncFrame>((f) => f.type === 'resync')).reason).toBe('bus');
    late.send({ type: 'resume', epoch: gateway.epoch, lastSeq: gateway.seq });
    await late.next(isAck);
  });
});

describe('sync gateway: lifecycle', () => {
  it('attaches to an existing server, leaves other paths alone and detaches on close', async () => {
    const server = createServer((_q, r) => r.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const bus = memorySyncBus();
    const gateway = await createSyncGateway({ bus, server, path: '/live', authorize: () => ({ allow: ['**'] }) });
    const p = await connectPeer(`ws://127.0.0.1:${port}/live`, { token: 't' });
    await expect(connectPeer(`ws://127.0.0.1:${port}/other`, { token: 't' })).rejects.toMatchObject({ status: 404 });
    await gateway.close();
    expect((await p.closed).code).toBe(1001);
    expect(server.listenerCount('upgrade')).toBe(0);
    expect(server.listening).toBe(true);
    await new Promise((r) => server.close(r));
    await bus.close();
  });

  it('rejects a configuration without authorize or with both server and port', async () => {
    const bus = memorySyncBus();
    // @ts-expect-error authorize is required
    await expect(createSyncGateway({ bus, port: 0 })).rejects.toThrow(/authorize/);
    await expect(createSyncGateway({ bus, port: 0, server: createServer(), authorize: () => false })).rejects.toThrow(/exactly one/);
    await bus.close();
  });
});

describe('sync gateway: replay buffer bounds', () => {
  it('forgets the oldest events past replayBufferBytes and resyncs clients that needed them', async () => {
    const { open, bus, gateway } = await setup({ replayBufferBytes: 4096 });
    const p = await open();
    await subscribed(p, ['big.*']);
    const start = gateway.seq;
    for (let i = 0; i < 6; i++) await bus.publish('big.x', 'y'.repeat(1000));
    p.send({ type: 'resume', epoch: gateway.epoch, lastSeq: start });
    expect((await p.next<ResyncFrame>((f) => f.type === 'resync')).reason).toBe('buffer');
    p.send({ type: 'resume', id: 'r', epoch: gateway.epoch, lastSeq: gateway.seq - 2 });
    await p.next((f) => f.type === 'ack' && f.id === 'r');
  });
});

describe('sync gateway: admission limits', () => {
  it('refuses with 503 when authorize hangs past authorizeTimeoutMs, and past maxConnections', async () => {
    const { url, errors } = await setup({
      authorizeTimeoutMs: 50, maxConnections: 1,
      authorize: (_req, { token }) => (token === 'hang' ? new Promise(() => {}) : { allow: ['**'] }),
    });
    await expect(connectPeer(url, { token: 'hang' })).rejects.toMatchObject({ status: 503 });
    expect(String(errors[0])).toMatch(/authorizeTimeoutMs/);
    const first = await connectPeer(url, { token: 'ok' });
    await expect(connectPeer(url, { token: 'ok' })).rejects.toMatchObject({ status: 503 });
    await first.close();
  });
});

describe('sync gateway: replay and the slow-consumer bound', () => {
  /** A socket that never drains: everything sent stays buffered. */
  function stuckSocket() {
    const ws = Object.assign(new EventEmitter(), {
      readyState: 1,
      bufferedAmount: 0,
      sent: 0,
      closedWith: undefined as number | undefined,
      send(data: string | Buffer) { ws.sent++; ws.bufferedAmount += data.length; },
      close(code: number) { ws.closedWith = code; ws.readyState = 2; },
      terminate() { ws.readyState = 3; },
    });
    return ws;
  }

  it('stops a replay and closes with 4503 once maxBufferedBytes are waiting, even within maxResumeBytes', () => {
    vi.useFakeTimers();
    try {
      const buffer = new ReplayBuffer(1_000, 64 * 1_048_576);
      const frame = Buffer.alloc(16_000, 0x78);
      let seq = 0;
      const core: GatewayCore = {
        epoch: 'e', seq: () => seq, busResyncSeq: () => 0, buffer, maxFrameBytes: 16_384, maxSubscriptions: 10,
        maxBufferedBytes: 256 * 1024, maxBadFrames: 10, maxResumeBytes: 64 * 1_048_576, maxResumes: 5, resumeWindowMs: 60_000,
        heartbeatMs: 30_000, report: () => {},
      };
      const ws = stuckSocket();
      new Connection(ws as never, undefined, ['**'], core);
      // Events from before the subscription were not sent live: a resume from 0 would replay all 16 MB.
      for (let i = 0; i < 1_000; i++) buffer.push({ seq: ++seq, topic: 't.x', frame });
      ws.emit('message', Buffer.from(JSON.stringify({ type: 'subscribe', patterns: ['t.*'] })), false);
      const before = ws.sent;
      ws.emit('message', Buffer.from(JSON.stringify({ type: 'resume', epoch: 'e', lastSeq: 0 })), false);
      expect(ws.closedWith).toBe(SyncCloseCode.SLOW_CONSUMER);
      // 256 KiB / 16 KB: the 17th frame crosses the bound, the 18th is refused.
      expect(ws.sent - before).toBe(17);
    } finally {
      vi.useRealTimers();
    }
  });
});
