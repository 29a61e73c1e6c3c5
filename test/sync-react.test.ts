// @vitest-environment happy-dom
import { act, createElement, StrictMode, useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { memorySyncBus } from 'botwire/memory';
import { createSyncGateway, type SyncGateway } from 'botwire/ws';
import { connectSync, type SyncClient, type WebSocketConstructor } from 'botwire/client';
import { SyncProvider, useSync, useSyncRefetch, useSyncState } from 'botwire/react';
import type { SyncBus } from 'botwire/sync';

interface Root { render(element: ReturnType<typeof createElement>): void; unmount(): void }
// @types/react-dom is not installed; the non-literal specifier keeps tsc from looking for it.
const { createRoot } = (await import('react-dom/client' as string)) as { createRoot(container: Element): Root };

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(): Promise<{ bus: SyncBus; gateway: SyncGateway; url: string }> {
  const bus = memorySyncBus();
  const gateway = await createSyncGateway({ bus, port: 0, host: '127.0.0.1', authorize: (_r, { token }) => (token === 'admin' ? { allow: ['**'] } : false) });
  cleanups.push(async () => { await gateway.close(); await bus.close(); });
  return { bus, gateway, url: `ws://127.0.0.1:${gateway.port}/sync` };
}

function mount(element: ReturnType<typeof createElement>): { root: Root; container: HTMLElement } {
  const container = document.createElement('div');
  document.body.append(container);
  const root = createRoot(container);
  act(() => root.render(element));
  cleanups.push(() => { act(() => root.unmount()); container.remove(); });
  return { root, container };
}

const options = { token: 'admin', WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { initialMs: 20, maxMs: 100 } };

/** Keep publishing `topic` until `done()` — the subscribe frame may still be in flight after mount. */
async function publishUntil(bus: SyncBus, topic: string, done: () => boolean, interval = 30): Promise<void> {
  await vi.waitFor(async () => {
    if (!done()) await act(() => bus.publish(topic));
    expect(done()).toBe(true);
  }, { timeout: 5000, interval });
}

describe('botwire/react', () => {
  it('useSyncRefetch refetches once per burst of matching events, and on resync (provider owns the client)', async () => {
    const { bus, url, gateway } = await setup();
    const refetch = vi.fn();
    let stateSeen = '';
    function Scenarios() {
      useSyncRefetch(['scenarios.created', 'scenarios.updated'], refetch, { debounceMs: 50 });
      stateSeen = useSyncState();
      return createElement('p', null, 'scenarios');
    }
    // State changes driven by the network land outside act(); that is the point of the hook, not a test bug.
    const realError = console.error;
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      if (!String(args[0]).includes('not wrapped in act')) realError(...args);
    });
    cleanups.push(() => spy.mockRestore());
    mount(createElement(StrictMode, null, createElement(SyncProvider, { url, options }, createElement(Scenarios))));
    await vi.waitFor(() => expect(stateSeen).toBe('open'));
    // Slower than the debounce, or each publish would push the refetch further out.
    await publishUntil(bus, 'scenarios.updated', () => refetch.mock.calls.length > 0, 200);
    refetch.mockClear();
    await act(async () => {
      for (let i = 0; i < 10; i++) await bus.publish('scenarios.updated', { id: i });
      await bus.publish('buttons.updated');
    });
    await vi.waitFor(() => expect(refetch).toHaveBeenCalledTimes(1));
    await new Promise((r) => setTimeout(r, 120));
    expect(refetch).toHaveBeenCalledTimes(1);
    // A reconnect against a restarted gateway means events may be lost: refetch.
    const port = gateway.port!;
    await gateway.close();
    const again = await createSyncGateway({ bus, port, host: '127.0.0.1', authorize: () => ({ allow: ['**'] }) });
    cleanups.push(() => again.close());
    await vi.waitFor(() => expect(refetch).toHaveBeenCalledTimes(2), { timeout: 5000 });
  });

  it('useSync shows live data with the latest handler, and unsubscribes on unmount', async () => {
    const { bus, url } = await setup();
    const client: SyncClient = connectSync(url, options);
    cleanups.push(() => client.close());
    function Balance() {
      const [balance, setBalance] = useState(0);
      useSync('users.*.balance_updated', (e) => setBalance((e.data as { balance: number }).balance));
      return createElement('span', { id: 'balance' }, String(balance));
    }
    const { root, container } = mount(createElement(SyncProvider, { client }, createElement(Balance)));
    await publishUntil(bus, 'users.0.balance_updated', () => container.textContent !== null);
    await vi.waitFor(async () => {
      await act(() => bus.publish('users.1.balance_updated', { balance: 42 }));
      expect(container.textContent).toBe('42');
    }, { timeout: 5000, interval: 50 });
    act(() => root.render(createElement(SyncProvider, { client }, createElement('i', null, 'gone'))));
    const seen: string[] = [];
    client.on('users.**', (e) => { seen.push(e.topic); });
    await publishUntil(bus, 'users.2.balance_updated', () => seen.length > 0);
    expect(container.textContent).toBe('gone');
  });

  it('useSync() without arguments gives imperative subscribe/unsubscribe', async () => {
    const { bus, url } = await setup();
    const client = connectSync(url, options);
    cleanups.push(() => client.close());
    const got: string[] = [];
    const handler = (e: { topic: string }) => { got.push(e.topic); };
    let api: ReturnType<typeof useSync> | undefined;
    function Panel() {
      api = useSync();
      return null;
    }
    mount(createElement(SyncProvider, { client }, createElement(Panel)));
    act(() => { api!.subscribe('tasks.updated', handler); });
    await publishUntil(bus, 'tasks.updated', () => got.length > 0);
    act(() => { api!.unsubscribe('tasks.updated', handler); });
    const n = got.length;
    const probe: string[] = [];
    client.on('tasks.*', (e) => { probe.push(e.topic); });
    await publishUntil(bus, 'tasks.updated', () => probe.length > 0);
    expect(got.length).toBe(n);
  });

  it('throws a clear error without a provider', () => {
    function Orphan() {
      useSync('a.b', () => {});
      return null;
    }
    const container = document.createElement('div');
    const root = createRoot(container);
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(() => act(() => root.render(createElement(Orphan)))).toThrow(/SyncProvider/);
    spy.mockRestore();
  });
});
