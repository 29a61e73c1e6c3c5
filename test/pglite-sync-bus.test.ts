import { afterAll, expect, it } from 'vitest';
import { postgresSyncBus } from '../adapters/postgres/sync-transport.js';
import { syncBusContract } from '../src/testing/sync-bus-contract.js';
import type { SyncEnvelope } from '../src/sync/types.js';
import { withPgSchema } from './support/pg-schema.js';

// One embedded Postgres for the whole file: starting PGlite takes seconds.
const { client: db, schema, drop } = await withPgSchema('bw_sync', { pglite: true });
afterAll(drop);

syncBusContract('postgres (PGlite)', () => ({ create: (o) => postgresSyncBus({ ...o, client: db, schema }) }));

it('PGlite: spilled and small events arrive in publish order', async () => {
  const a = postgresSyncBus({ client: db, schema });
  const b = postgresSyncBus({ client: db, schema });
  await Promise.all([a.ready(), b.ready()]);
  const got: SyncEnvelope[] = [];
  b.subscribe('*', (e) => { got.push(e); });
  const sends = [a.publish('s1', 1), a.publish('big', 'x'.repeat(12_000)), a.publish('s2', 2)];
  await Promise.all(sends);
  await expect.poll(() => got.length).toBe(3);
  expect(got.map((e) => e.topic)).toEqual(['s1', 'big', 's2']);
  await Promise.all([a.close(), b.close()]);
});
