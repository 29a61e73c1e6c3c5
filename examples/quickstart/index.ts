/**
 * Quick start: a chat session that survives a process restart, on embedded PGlite — no server.
 *
 *   npm start
 *
 * The first "process" opens the database, takes the chat's lease, bumps a counter and commits; then
 * it closes the database (as a serverless instance would die). The second "process" opens the same
 * data directory and finds the session where the first left it. Run it again and the count goes on.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migrate, postgresSessionStore } from 'botwire/postgres';

interface ChatSession { visits: number; lastStep: string }

const dataDir = process.env.BOTWIRE_QUICKSTART_DIR ?? join(tmpdir(), 'botwire-quickstart');
mkdirSync(dataDir, { recursive: true });

async function boot() {
  const db = new PGlite(dataDir);
  await migrate(db); // explicit, once per deploy: never on the request path
  return { db, store: postgresSessionStore<ChatSession>({ client: db }) };
}

// Instance 1: handle an update under the chat's lease (one round trip in, one out).
{
  const { db, store } = await boot();
  const lease = await store.acquire('chat:42');
  const session = lease.record?.data ?? { visits: 0, lastStep: 'start' };
  const version = await lease.commit({ visits: session.visits + 1, lastStep: 'name' }, { ttlMs: 24 * 3600_000 });
  console.log(`instance 1: wrote visits=${session.visits + 1} (version ${version}), shutting down`);
  await db.close();
}

// Instance 2: a cold start that only has the data directory.
{
  const { db, store } = await boot();
  const record = await store.get('chat:42');
  if (!record) throw new Error('the session did not survive the restart');
  console.log(`instance 2: found ${JSON.stringify(record.data)} at version ${record.version}, expires ${new Date(record.expiresAt!).toISOString()}`);
  await db.close();
}
console.log(`data directory: ${dataDir} (delete it to start over)`);
