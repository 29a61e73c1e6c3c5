/**
 * botwire/supabase sync: envelopes published through supabase-js and the PostgREST double reach
 * `postgresSyncBus` listeners on the same database (LISTEN on a direct connection), the deployment
 * the adapter is for: serverless functions publish, a long-running process receives.
 *
 * The contract suite runs on a bus whose transport publishes with `supabaseSyncTransport` and
 * receives with `postgresSyncTransport`: every cross-instance delivery it checks went out through
 * `rpc('sync_publish')` (HTTP) and came in through Postgres LISTEN/NOTIFY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSyncBus, postgresSyncTransport } from '../adapters/postgres/index.js';
import { supabaseSyncBus, supabaseSyncTransport } from '../adapters/supabase/index.js';
import { BackendUnavailableError } from '../src/errors.js';
import { createSyncBus } from '../src/sync/sync-bus.js';
import type { SyncTransport } from '../src/sync/backend.js';
import type { SyncEnvelope } from '../src/sync/types.js';
import { syncBusContract } from '../src/testing/sync-bus-contract.js';
import { needs } from './support/services.js';
import { withSupabase, type SupabaseSetup } from './support/supabase.js';

const run = await needs('postgres');

describe.runIf(run)('Supabase SyncBus (publish via rpc, received by postgresSyncBus LISTEN)', () => {
  let s: SupabaseSetup;
  beforeAll(async () => { s = await withSupabase('bw_supa_sync', { max: 12 }); });
  afterAll(() => s?.drop());

  /** Sends like a serverless function on Supabase, receives like a long-running process on the direct connection. */
  const httpOutListenIn = (): SyncTransport => {
    const out = supabaseSyncTransport({ client: s.client, schema: s.schema });
    const into = postgresSyncTransport({ client: s.pool, schema: s.schema });
    return {
      name: 'Supabase → Postgres LISTEN', maxPayloadBytes: out.maxPayloadBytes,
      open: (events) => into.open(events), send: (text, topic) => out.send(text, topic),
      close: async () => { await out.close(); await into.close(); },
    };
  };

  syncBusContract('supabase publish → postgres LISTEN', () => ({
    create: (o) => {
      const transport = httpOutListenIn();
      return createSyncBus({ ...o, transport, maxPayloadBytes: o?.maxPayloadBytes ?? transport.maxPayloadBytes });
    },
  }));

  it('is ready at once and delivers locally; a postgresSyncBus on the same schema receives small and spilled events in order', async () => {
    const listener = postgresSyncBus({ client: s.pool, schema: s.schema });
    const publisher = supabaseSyncBus({ client: s.client, schema: s.schema });
    try {
      await Promise.all([listener.ready(), publisher.ready(1_000)]);
      const heard: SyncEnvelope[] = [];
      const local: unknown[] = [];
      listener.subscribe('order.*', (e) => { heard.push(e); });
      publisher.subscribe('order.*', (e) => { local.push(e.data); });
      s.double.resetRequests();
      await publisher.publish('order.paid', { id: 1 });
      expect(local).toEqual([{ id: 1 }]);
      expect(s.double.requests.total).toBe(1);
      // A burst: the first request leaves at once, the rest wait for it and go together, in order.
      const big = 'é'.repeat(6_000); // 12,000 bytes of UTF-8: over NOTIFY's limit, spilled
      await Promise.all([publisher.publish('order.a', 1), publisher.publish('order.big', big), publisher.publish('order.b', 2)]);
      expect(s.double.requests.total).toBe(3);
      await expect.poll(() => heard.length).toBe(4);
      expect(heard.map((e) => e.topic)).toEqual(['order.paid', 'order.a', 'order.big', 'order.b']);
      expect(heard[2]!.data).toBe(big);
      expect(heard.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      expect(new Set(heard.map((e) => e.origin)).size).toBe(1);
    } finally {
      await Promise.all([listener.close(), publisher.close()]);
    }
  });

  it('while the Data API is down, publish still resolves (local delivery done) and counts the event as dropped', async () => {
    const errors: unknown[] = [];
    const publisher = supabaseSyncBus({ client: s.client, schema: s.schema, onError: (e) => { errors.push(e); } });
    await publisher.ready();
    s.double.setDown(true);
    try {
      await publisher.publish('x.y', 1);
      await expect.poll(() => publisher.stats().dropped).toBe(1);
      expect(errors.some((e) => e instanceof BackendUnavailableError)).toBe(true);
    } finally {
      s.double.setDown(false);
      await publisher.close();
    }
  });
});
