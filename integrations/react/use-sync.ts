/**
 * Hooks that tie components to live bus events: `useSync` for a handler, `useSyncRefetch` for the
 * common "reload this list when it changed" case, `useSyncState` for a connection indicator.
 *
 * @module
 */
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import type { SyncClient, SyncClientHandler, SyncClientState } from '../client/connect-sync.js';
import { useSyncClient, type AnySyncClient } from './sync-provider.js';

/** One pattern or several. */
export type PatternInput = string | readonly string[];

/** Options shared by the hooks. */
export interface UseSyncOptions {
  /** Use this client instead of the one from `SyncProvider`. */
  client?: AnySyncClient;
}

/** What `useSync()` without arguments returns: imperative access, `const { subscribe } = useSync()`. */
export interface UseSyncResult {
  /** The client, `null` while the provider connects. */
  client: SyncClient | null;
  /** Subscribe imperatively; returns the unsubscribe function. No-op while `client` is `null`. */
  subscribe(pattern: string, handler: SyncClientHandler): () => void;
  /** Remove a handler added with `subscribe`. */
  unsubscribe(pattern: string, handler: SyncClientHandler): void;
}

function usePatternKey(patterns: PatternInput | undefined): string[] {
  const key = patterns === undefined ? '' : typeof patterns === 'string' ? patterns : patterns.join('\n');
  // Arrays written inline are new every render; the joined text is the real identity.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => (key === '' ? [] : key.split('\n')), [key]);
}

/**
 * Call `handler` for events matching `pattern(s)` while the component is mounted. The latest
 * `handler` is always used (no need to memoize it); `'$resync'` works as a pattern too.
 *
 * @example
 * ```tsx
 * useSync('users.balance_updated', (e) => setBalance(e.data.balance));
 * ```
 */
export function useSync(pattern?: PatternInput, handler?: SyncClientHandler, options: UseSyncOptions = {}): UseSyncResult {
  const client = useSyncClient(options.client);
  const patterns = usePatternKey(pattern);
  const handlerRef = useRef(handler);
  handlerRef.current = handler;
  useEffect(() => {
    if (!client || patterns.length === 0 || !handlerRef.current) return undefined;
    const offs = patterns.map((p) => client.on(p, (e) => handlerRef.current?.(e)));
    return () => { for (const off of offs) off(); };
  }, [client, patterns]);

  const added = useRef(new Map<string, Map<SyncClientHandler, () => void>>());
  useEffect(() => () => {
    for (const byHandler of added.current.values()) for (const off of byHandler.values()) off();
    added.current.clear();
  }, [client]);
  const subscribe = useCallback((p: string, h: SyncClientHandler) => {
    if (!client) return () => {};
    const off = client.on(p, h);
    let byHandler = added.current.get(p);
    if (!byHandler) added.current.set(p, (byHandler = new Map()));
    byHandler.get(h)?.();
    byHandler.set(h, off);
    return () => { off(); byHandler.delete(h); };
  }, [client]);
  const unsubscribe = useCallback((p: string, h: SyncClientHandler) => {
    const byHandler = added.current.get(p);
    byHandler?.get(h)?.();
    byHandler?.delete(h);
  }, []);
  return useMemo(() => ({ client, subscribe, unsubscribe }), [client, subscribe, unsubscribe]);
}

/** Options of {@link useSyncRefetch}. */
export interface UseSyncRefetchOptions extends UseSyncOptions {
  /** Wait this long after the last matching event before refetching, so a burst costs one request. @default 100 */
  debounceMs?: number;
  /** Also refetch on `'$resync'` (events may have been missed). @default true */
  onResync?: boolean;
}

/**
 * Call `refetch` (debounced) when an event matching `patterns` arrives or the gateway says to
 * resync, e.g. `useSyncRefetch(['scenarios.created', 'scenarios.updated'], refetch)`.
 *
 * @example
 * ```tsx
 * const { data, refetch } = useQuery({ queryKey: ['scenarios'], queryFn: fetchScenarios });
 * useSyncRefetch('scenarios.*', refetch);
 * ```
 */
export function useSyncRefetch(patterns: PatternInput, refetch: () => unknown, options: UseSyncRefetchOptions = {}): void {
  const client = useSyncClient(options.client);
  const list = usePatternKey(patterns);
  const refetchRef = useRef(refetch);
  refetchRef.current = refetch;
  const debounceMs = options.debounceMs ?? 100;
  const onResync = options.onResync ?? true;
  useEffect(() => {
    if (!client) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const schedule = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        try {
          const r = refetchRef.current();
          if (r && typeof (r as Promise<unknown>).catch === 'function') (r as Promise<unknown>).catch((e: unknown) => console.error(e));
        } catch (e) {
          console.error(e);
        }
      }, debounceMs);
    };
    const offs = list.map((p) => client.on(p, schedule));
    if (onResync) offs.push(client.on('$resync', schedule));
    return () => {
      clearTimeout(timer);
      for (const off of offs) off();
    };
  }, [client, list, debounceMs, onResync]);
}

const noClient = (): (() => void) => () => {};

/** The client's connection state (re-renders on change); `'connecting'` while the provider connects. */
export function useSyncState(options: UseSyncOptions = {}): SyncClientState {
  const client = useSyncClient(options.client);
  const subscribe = useCallback((cb: () => void) => (client ? client.onState(cb) : noClient()), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client?.state ?? 'connecting',
    () => 'connecting',
  );
}
