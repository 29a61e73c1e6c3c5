import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSyncBus } from '../adapters/postgres/sync-transport.js';
import { BotwireConfigError, SyncPayloadTooLargeError } from '../src/errors.js';
import { syncBusContract } from '../src/testing/sync-bus-contract.js';
import type { SyncEnvelope } from '../src/sync/types.js';
import { withPgSchema, type PgSchema } from './support/pg-schema.js';
import { DATABASE_URL, needs, uniqueName } from './support/services.js';

const run = await needs('postgres');
let db: PgSchema<pg.Pool>;
let pool: pg.Pool;
let schema: string;

describe.runIf(run)('Postgres SyncBus (pg)', () => {
  beforeAll(async () => {
    db = await withPgSchema('bw_sync', { max: 12 });
    ({ client: pool, schema } = db);
  });
  afterAll(() => db?.drop());

  syncBusContract('postgres (pg.Pool)', () => ({ create: (o) => postgresSyncBus({ ...o, client: pool, schema }) }));
  syncBusContract('postgres (connectionString)', () => ({ create: (o) => postgresSyncBus({ ...o, connectionString: DATABASE_URL, schema }) }));

  it('spills envelopes over 8,000 bytes to sync_spill and cleans old rows on later spills', async () => {
    const a = postgresSyncBus({ client: pool, schema });
    const b = postgresSyncBus({ client: pool, schema });
    await Promise.all([a.ready(), b.ready()]);
    const got: SyncEnvelope[] = [];
    b.subscribe('big.*', (e) => { got.push(e); });
    await a.publish('big.one', 'é'.repeat(5_000)); // 10,000 bytes in UTF-8, 5,000 UTF-16 units
    await a.publish('big.two', 'small after big');
    await expect.poll(() => got.length).toBe(2);
    expect(got.map((e) => e.topic)).toEqual(['big.one', 'big.two']);
    expect(got[0]!.data).toBe('é'.repeat(5_000));
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_spill`);
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    await pool.query(`UPDATE "${schema}".sync_spill SET created_at = now() - interval '1 hour'`);
    await a.publish('big.three', 'x'.repeat(9_000));
    await expect.poll(() => got.length).toBe(3);
    const after = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".sync_spill`);
    expect(after.rows[0].n).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('with maxPayloadBytes 7,999 rejects larger events as SyncPayloadTooLargeError, never a raw SQL error', async () => {
    const a = postgresSyncBus({ client: pool, schema, maxPayloadBytes: 7_999 });
    await a.ready();
    await expect(a.publish('big', 'x'.repeat(8_100))).rejects.toBeInstanceOf(SyncPayloadTooLargeError);
    await a.close();
  });

  it('rejects a single pg.Client and a bad schema with BotwireConfigError', () => {
    expect(() => postgresSyncBus({ client: { query: async () => ({ rows: [] }) } })).toThrow(BotwireConfigError);
    expect(() => postgresSyncBus({ client: pool, schema: 'Bad-Schema' })).toThrow(BotwireConfigError);
    expect(() => postgresSyncBus({} as never)).toThrow(BotwireConfigError);
  });

  it('replaces a LISTEN connection that stops answering its liveness probe, then emits $resync', async () => {
    let hang = false;
    // Connections whose `SELECT 1` never returns while `hang` is set: a half-dead connection.
    const gated = {
      query: (text: string, params?: unknown[]) => pool.query(text, params),
      connect: async () => {
        const conn = await pool.connect();
        return new Proxy(conn, {
          get(target, key) {
            if (key === 'query') {
              return (text: string, params?: unknown[]) => (hang && text === 'SELECT 1' ? new Promise(() => {}) : target.query(text, params));
            }
            const value = Reflect.get(target, key) as unknown;
            return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
          },
        });
      },
      totalCount: 0,
      options: { max: 12 },
    };
    const bus = postgresSyncBus({ client: gated, schema, probeIntervalMs: 100, probeTimeoutMs: 300, onError: () => {} });
    await bus.ready();
    const resyncs: unknown[] = [];
    bus.subscribe('$resync', (e) => { resyncs.push(e.data); });
    hang = true;
    await expect.poll(() => bus.state, { timeout: 5_000, interval: 10 }).toBe('down');
    hang = false;
    await expect.poll(() => resyncs, { timeout: 5_000 }).toEqual([{ reason: 'reconnect' }]);
    await bus.close();
  });

  it('reconnects after pg_terminate_backend of its LISTEN connection, emits $resync, resumes delivery', async () => {
    const errors: unknown[] = [];
    const a = postgresSyncBus({ client: pool, schema, onError: (e) => { errors.push(e); } });
    const b = postgresSyncBus({ client: pool, schema, onError: (e) => { errors.push(e); } });
    await Promise.all([a.ready(), b.ready()]);
    const resyncs: unknown[] = [];
    const got: unknown[] = [];
    b.subscribe('$resync', (e) => { resyncs.push(e.data); });
    b.subscribe('t', (e) => { got.push(e.data); });
    const { rows } = await pool.query(
      `SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN "${schema}_sync"'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(2); // only this test's buses are open; both get cut off
    for (const { pid } of rows) await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await expect.poll(() => resyncs.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    expect(resyncs[0]).toEqual({ reason: 'reconnect' });
    await expect.poll(async () => { await a.publish('t', 'after'); return got.includes('after'); }, { timeout: 5_000, interval: 100 }).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });
});
