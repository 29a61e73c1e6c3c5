import { createPGlite } from './support/pglite.js';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../adapters/postgres/migrate.js';
import { postgresSyncBus } from '../adapters/postgres/sync-transport.js';
import { syncBusContract } from '../src/testing/sync-bus-contract.js';
import type { SyncEnvelope } from '../src/sync/types.js';

// One embedded Postgres for the whole file: starting PGlite takes seconds.
const db = await createPGlite();
const schema = 'bw_sync';

beforeAll(async () => {
  await db.waitReady;
  await migrate(db, { schema });
}, 180_000); // PGlite starts in ~5 s, far slower while parallel suites load the machine
afterAll(async () => { await db.close(); });

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
