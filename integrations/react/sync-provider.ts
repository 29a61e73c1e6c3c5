/**
 * React context for a sync client: either hand `SyncProvider` a client you created, or a `url`
 * (and options) and it connects on mount and closes on unmount.
 *
 * @module
 */
import { createContext, createElement, useContext, useEffect, useState, type ReactElement, type ReactNode } from 'react';
import { BotwireConfigError } from '../../src/errors.js';
import { connectSync, type ConnectSyncOptions, type SyncClient } from '../client/connect-sync.js';

/**
 * A client with any topic map: typed clients (`connectSync<Topics>()`) are accepted wherever the
 * hooks take one; the hooks themselves hand out untyped envelopes.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySyncClient = SyncClient<any>;

/** `undefined` = no provider above; `null` = a provider that is still connecting. */
const SyncContext = createContext<AnySyncClient | null | undefined>(undefined);

/** Props of {@link SyncProvider}: give `client`, or `url` (with `options`). */
export interface SyncProviderProps {
  /** A client from `connectSync`; the provider does not close it. */
  client?: AnySyncClient;
  /** Or a gateway URL: the provider connects on mount and closes on unmount. */
  url?: string;
  /** Options for `connectSync` when `url` is given (read once per `url`). */
  options?: ConnectSyncOptions;
  children?: ReactNode;
}

/**
 * Makes a sync client available to `useSync` / `useSyncRefetch` below it.
 *
 * @example
 * ```tsx
 * <SyncProvider url="wss://api.example.com/sync" options={{ token: () => getAccessToken() }}>
 *   <AdminPanel />
 * </SyncProvider>
 * ```
 */
export function SyncProvider(props: SyncProviderProps): ReactElement {
  const { client, url, options, children } = props;
  if (!client && !url) throw new BotwireConfigError('<SyncProvider> needs a `client` (from connectSync) or a `url`.');
  const [owned, setOwned] = useState<SyncClient | null>(null);
  useEffect(() => {
    if (client || !url) return undefined;
    const c = connectSync(url, options);
    setOwned(c);
    return () => {
      c.close();
      setOwned(null);
    };
    // `options` is read once per url on purpose: an inline object literal would reconnect every render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, url]);
  return createElement(SyncContext.Provider, { value: client ?? owned }, children);
}

/**
 * The client from the nearest `SyncProvider` (or `explicit`), `null` while it is connecting.
 * Throws when there is neither.
 */
export function useSyncClient(explicit?: AnySyncClient): SyncClient | null {
  const fromContext = useContext(SyncContext);
  if (explicit) return explicit as SyncClient;
  if (fromContext === undefined) {
    throw new BotwireConfigError('useSync/useSyncRefetch need a <SyncProvider> above them, or `{ client }` in their options.');
  }
  return fromContext;
}
