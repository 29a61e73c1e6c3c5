import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createMemorySyncHub, memorySyncBus } from 'botwire/memory';
import { connectSync, reconnectDelay, SyncGatewayError, type SyncClient, type WebSocketConstructor } from 'botwire/client';
import { createSyncGateway, SyncCloseCode, type SyncGateway, type SyncGatewayOptions } from 'botwire/ws';
import type { SyncBus, SyncEnvelope } from 'botwire/sync';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const WS = WebSocket as unknown as WebSocketConstructor;

async function gatewayOn(bus: SyncBus, port = 0, extra: Partial<SyncGatewayOptions> = {}): Promise<SyncGateway> {
  const gateway = await createSyncGateway({
    bus, port, host: '127.0.0.1',
    authorize: (_req, { token }) => (token?.startsWith('ok') ? { allow: ['**'], id: token } : false),
    ...extra,
  });
  cleanups.push(() => gateway.close());
  return gateway;
}

function client(url: string, options: Parameters<typeof connectSync>[1] = {}): { sync: SyncClient; errors: unknown[] } {
  const errors: unknown[] = [];
  const sync = connectSync(url, { token: 'ok', WebSocket: WS, backoff: { initialMs: 20, maxMs: 200 }, onError: (e) => errors.push(e), ...options });
  cleanups.push(() => sync.close());
  return { sync, errors };
}

function collect(sync: SyncClient, pattern: string): SyncEnvelope[] {
  const got: SyncEnvelope[] = [];
  sync.on(pattern, (e) => { got.push(e); });
  return got;
}

async function setup(extra: Partial<SyncGatewayOptions> = {}) {
  const hub = createMemorySyncHub();
  const bus = memorySyncBus({ hub });
  cleanups.push(() => bus.close());
  const gateway = await gatewayOn(bus, 0, extra);
  return { hub, bus, gateway, url: `ws://127.0.0.1:${gateway.port}/sync` };
}

/** Publish until the client has evidently subscribed (the first delivery), so tests don't race the subscribe frame. */
async function untilLive(bus: SyncBus, got: unknown[], topic = 'probe.ping'): Promise<void> {
  await vi.waitFor(async () => {
    if (got.length === 0) await bus.publish(topic);
    expect(got.length).toBeGreaterThan(0);
  }, { timeout: 5000, interval: 20 });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

describe('reconnectDelay', () => {
  it('grows exponentially, is capped, and jitters within the upper half', () => {
    const opts = { initialMs: 100, maxMs: 1000 };
    expect(reconnectDelay(0, opts, () => 0)).toBe(50);
    expect(reconnectDelay(0, opts, () => 1)).toBe(100);
    expect(reconnectDelay(3, opts, () => 1)).toBe(800);
    expect(reconnectDelay(4, opts, () => 1)).toBe(1000);
    expect(reconnectDelay(500, opts, () => 0.5)).toBe(750);
    for (let i = 0; i < 100; i++) {
      const d = reconnectDelay(2, opts);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
});

describe('connectSync', () => {
  it('delivers matching events to handlers and stops after off()', async () => {
    const { bus, url } = await setup();
    const { sync } = client(url);
    const got = collect(sync, 'buttons.*');
    const all: string[] = [];
    const off = sync.on('**', (e) => { all.push(e.topic); });
    await untilLive(bus, got, 'buttons.probe');
    await bus.publish('buttons.updated', { id: 7 });
    await bus.publish('scenarios.created');
    await vi.waitFor(() => expect(all).toContain('scenarios.created'));
    expect(got.map((e) => e.topic)).toContain('buttons.updated');
    expect(got.find((e) => e.topic === 'buttons.updated')?.data).toEqual({ id: 7 });
    expect(got.some((e) => e.topic === 'scenarios.created')).toBe(false);
    expect(sync.state).toBe('open');
    off();
    const before = all.length;
    await bus.publish('buttons.again');
    await vi.waitFor(() => expect(got.map((e) => e.topic)).toContain('buttons.again'));
    expect(all.length).toBe(before);
  });

  it('reconnects after the gateway drops it and resumes with exactly the missed events', async () => {
    const { bus, url, gateway } = await setup();
    const tokens: string[] = [];
    const gate = deferred();
    // The second connect waits for the gate, so the events below are surely published while offline.
    const { sync } = client(url, { token: async () => { const t = `ok-${tokens.length}`; tokens.push(t); if (tokens.length > 1) await gate.promise; return t; } });
    const got = collect(sync, 'orders.*');
    await untilLive(bus, got, 'orders.0');
    const states: string[] = [];
    sync.onState((s) => states.push(s));
    gateway.disconnect('ok-0');
    await vi.waitFor(() => expect(sync.state).toBe('reconnecting'));
    for (let i = 1; i <= 5; i++) await bus.publish(`orders.${i}`, i);
    gate.resolve();
    await vi.waitFor(() => expect(got.map((e) => e.topic)).toContain('orders.5'));
    await bus.publish('orders.6', 6);
    await vi.waitFor(() => expect(got.map((e) => e.topic)).toContain('orders.6'));
    const after = got.map((e) => e.topic).filter((t) => t !== 'orders.0');
    expect(after).toEqual(['orders.1', 'orders.2', 'orders.3', 'orders.4', 'orders.5', 'orders.6']);
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(states).toContain('open');
  });

  it("emits '$resync' when the gap outgrew the replay buffer, and when the bus resyncs", async () => {
    const { bus, url, gateway, hub } = await setup({ replayBufferSize: 2 });
    const gate = deferred();
    let calls = 0;
    const { sync } = client(url, { token: async () => { if (calls++ > 0) await gate.promise; return 'ok-a'; } });
    const got = collect(sync, 'orders.*');
    const resyncs: unknown[] = [];
    sync.on('$resync', (e) => { resyncs.push(e.data); });
    await untilLive(bus, got, 'orders.0');
    gateway.disconnect('ok-a');
    await vi.waitFor(() => expect(sync.state).toBe('reconnecting'));
    for (let i = 1; i <= 5; i++) await bus.publish(`orders.${i}`);
    gate.resolve();
    await vi.waitFor(() => expect(resyncs).toEqual([{ reason: 'buffer' }]));
    hub.setDown(true);
    hub.setDown(false);
    await vi.waitFor(() => expect(resyncs).toEqual([{ reason: 'buffer' }, { reason: 'bus' }]));
    // Still live after resyncing.
    await bus.publish('orders.after');
    await vi.waitFor(() => expect(got.map((e) => e.topic)).toContain('orders.after'));
  });

  it("resyncs when the gateway restarted (another epoch) and keeps its subscriptions", async () => {
    const bus = memorySyncBus();
    cleanups.push(() => bus.close());
    const first = await gatewayOn(bus);
    const port = first.port!;
    const { sync } = client(`ws://127.0.0.1:${port}/sync`);
    const got = collect(sync, 'a.*');
    const resyncs: unknown[] = [];
    sync.on('$resync', (e) => { resyncs.push(e.data); });
    await untilLive(bus, got, 'a.first');
    await first.close();
    await gatewayOn(bus, port);
    await vi.waitFor(() => expect(resyncs).toEqual([{ reason: 'epoch' }]), { timeout: 5000 });
    await untilLive(bus, got.splice(0), 'a.second');
  });

  it('backs off exponentially with jitter while the gateway is unreachable', async () => {
    const attempts: number[] = [];
    class Counting extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        attempts.push(Date.now());
        super(url, protocols);
        this.on('error', () => {});
      }
    }
    const { sync } = client('ws://127.0.0.1:1/sync', { WebSocket: Counting as unknown as WebSocketConstructor, backoff: { initialMs: 40, maxMs: 320 } });
    await vi.waitFor(() => expect(attempts.length).toBeGreaterThanOrEqual(6), { timeout: 8000 });
    sync.close();
    const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
    // Lower bounds only (half the nominal delay): a loaded machine can only make gaps longer.
    const nominal = [40, 80, 160, 320, 320];
    nominal.forEach((ms, i) => expect(gaps[i]).toBeGreaterThanOrEqual(ms / 2 - 5));
    expect(sync.state).toBe('closed');
  });

  it('reconnects at once when the tab becomes visible or the network comes back', async () => {
    const target = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    const g = globalThis as Record<string, unknown>;
    g.document = doc;
    g.addEventListener = target.addEventListener.bind(target);
    g.removeEventListener = target.removeEventListener.bind(target);
    cleanups.push(() => { delete g.document; delete g.addEventListener; delete g.removeEventListener; });

    const bus = memorySyncBus();
    cleanups.push(() => bus.close());
    const first = await gatewayOn(bus);
    const port = first.port!;
    // A long backoff: only the wake-up events can bring it back within the test.
    const { sync } = client(`ws://127.0.0.1:${port}/sync`, { backoff: { initialMs: 60_000, maxMs: 60_000 } });
    await vi.waitFor(() => expect(sync.state).toBe('open'));
    await first.close();
    await vi.waitFor(() => expect(sync.state).toBe('reconnecting'));
    const second = await gatewayOn(bus, port);
    target.dispatchEvent(new Event('online'));
    await vi.waitFor(() => expect(sync.state).toBe('open'), { timeout: 3000 });

    await second.close();
    await vi.waitFor(() => expect(sync.state).toBe('reconnecting'));
    await gatewayOn(bus, port);
    doc.dispatchEvent(new Event('visibilitychange'));
    await vi.waitFor(() => expect(sync.state).toBe('open'), { timeout: 3000 });
  });

  it('drops a silent gateway connection (4408) and reconnects', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'botwire-sync.v1' });
    cleanups.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    const closes: number[] = [];
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.send(JSON.stringify({ type: 'hello', v: 1, epoch: 'e', seq: 0, heartbeatMs: 1000, limits: { maxFrameBytes: 1024, maxSubscriptions: 10 } }));
      ws.on('close', (code) => closes.push(code));
      // Never answers pings: a zombie.
    });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    client(`ws://127.0.0.1:${port}/sync`, { pingIntervalMs: 100, pongTimeoutMs: 100 });
    await vi.waitFor(() => {
      expect(connections).toBeGreaterThanOrEqual(2);
      expect(closes[0]).toBe(4408);
    }, { timeout: 5000 });
  });

  it('after 4430 (too many resumes) reconnects with backoff without resuming and emits $resync', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'botwire-sync.v1' });
    cleanups.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    const received: string[][] = [];
    wss.on('connection', (ws) => {
      const n = received.push([]) - 1;
      ws.send(JSON.stringify({ type: 'hello', v: 1, epoch: `e${n}`, seq: 5, heartbeatMs: 30_000, limits: { maxFrameBytes: 16_384, maxSubscriptions: 10 } }));
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { type: string };
        received[n]!.push(frame.type);
        if (n === 0 && frame.type === 'subscribe') ws.close(1001, 'restarting');
        if (frame.type === 'resume') ws.close(SyncCloseCode.TOO_MANY_RESUMES, 'too many resumes');
      });
    });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as { port: number }).port;
    const { sync, errors } = client(`ws://127.0.0.1:${port}/sync`);
    const resyncs: unknown[] = [];
    sync.on('$resync', (e) => { resyncs.push(e.data); });
    sync.on('a.*', () => {});
    await vi.waitFor(() => expect(resyncs).toEqual([{ reason: 'buffer' }]), { timeout: 5000 });
    expect(received[1]).toEqual(['subscribe', 'resume']); // a normal reconnect resumes
    await vi.waitFor(() => expect(received[2]).toEqual(['subscribe'])); // after 4430 it does not
    expect(sync.state).toBe('open');
    expect(errors.some((e) => (e as SyncGatewayError).reason === 'close:4430')).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
    expect(received).toHaveLength(3);
  });

  it('reports gateway refusals and stops for good on 4403', async () => {
    const { url, gateway } = await setup({ authorize: () => ({ allow: ['users.1.*'], id: 'u1' }) });
    const { sync, errors } = client(url);
    sync.on('users.2.*', () => {});
    await vi.waitFor(() => expect(errors[0]).toBeInstanceOf(SyncGatewayError));
    expect(errors[0]).toMatchObject({ reason: 'forbidden', patterns: ['users.2.*'] });
    gateway.disconnect('u1', 'forbidden');
    await vi.waitFor(() => expect(sync.state).toBe('closed'));
    expect(errors.some((e) => (e as SyncGatewayError).reason === 'close:4403')).toBe(true);
  });

  it('survives handlers that throw or reject, and rejects invalid patterns at once', async () => {
    const { bus, url } = await setup();
    const { sync, errors } = client(url);
    sync.on('x.*', () => { throw new Error('boom'); });
    sync.on('x.*', async () => { throw new Error('async boom'); });
    const got = collect(sync, 'x.*');
    await untilLive(bus, got, 'x.y');
    await vi.waitFor(() => expect(errors.map(String).join()).toMatch(/boom.*async boom|async boom.*boom/));
    expect(() => sync.on('a..b', () => {})).toThrow(/segment|pattern/);
  });
});

describe('connectSync without a WebSocket', () => {
  it('says what to pass when the runtime has no WebSocket', () => {
    const g = globalThis as { WebSocket?: unknown };
    const saved = g.WebSocket;
    delete g.WebSocket;
    try {
      expect(() => connectSync('ws://127.0.0.1:1/sync')).toThrow(/pass `\{ WebSocket \}`/);
    } finally {
      if (saved) g.WebSocket = saved;
    }
  });
});

describe('typed topics', () => {
  it('types handler events from a topic map (checked by tsc)', () => {
    interface Topics { 'users.balance_updated': { userId: number; balance: number }; 'buttons.updated': { id: number } }
    const sync = connectSync<Topics>('ws://127.0.0.1:1/sync', { WebSocket: WS, backoff: { initialMs: 60_000 }, onError: () => {} });
    cleanups.push(() => sync.close());
    const off = sync.on('users.balance_updated', (e) => { expectTypeOf(e.data).toEqualTypeOf<{ userId: number; balance: number }>(); });
    sync.on('buttons.*', (e) => { expectTypeOf(e.data).toEqualTypeOf<{ id: number }>(); });
    sync.on('$resync', (e) => { expectTypeOf(e.data.reason).toEqualTypeOf<'buffer' | 'epoch' | 'bus'>(); });
    // @ts-expect-error balance is a number
    sync.on('users.balance_updated', (e) => { const wrong: string = e.data.balance; void wrong; });
    expect(typeof off).toBe('function');
  });
});
