/**
 * One backend for everything the app stores — sessions, its own records, jobs, events, rate-limit
 * counters — picked from the environment. Every branch builds the same five objects from one
 * connection, so the rest of the app never knows which backend it runs on.
 *
 * Drivers are imported only for the branch taken: a Supabase deployment never loads `pg`.
 */
import { RateLimitStore, shutdown, type SessionStore, type ShutdownTarget } from 'botwire';
import { type SyncBus } from 'botwire/sync';
import { JobQueue, type JobBackend, type JobHandlers, type JobQueueOptions } from 'botwire/jobs';
import type { AppConfig, BackendKind } from './config.js';
import type { AppTopics } from './topics.js';

/** What the app runs on. */
export interface Backend {
  kind: BackendKind;
  /** grammY sessions (24 h TTL, cleaned by the cleanup cron where the backend has no native expiry). */
  sessions: SessionStore;
  /** The app's own records (buttons, users, …), kept in the same store under `app:` keys, no TTL. */
  records: SessionStore;
  bus: SyncBus<AppTopics>;
  rateLimits: RateLimitStore;
  /** Build the job queue over this backend (handlers need the bot, which needs the backend). */
  jobQueue(options: JobQueueOptions): JobQueue;
  /** Fleet features of the job backend (`limits`, `groups`, …): used where present, skipped where not. */
  jobFeatures: readonly string[];
  /**
   * What `shutdown()` stops: the bus, the queue and the stores (it orders them by their stage),
   * then the connections they share (pool, client, embedded database), last.
   */
  shutdownTargets(): ShutdownTarget[];
  /** Shut all of it down now (tests, scripts); the Node server gives the targets to its own `shutdown()`. */
  close(): Promise<void>;
}

/** Open the backend `config` names; migrates embedded PGlite (its own process owns it). */
export async function openBackend(config: AppConfig): Promise<Backend> {
  switch (config.backend) {
    case 'memory': return openMemory();
    case 'redis': return openRedis(config);
    case 'supabase': return openSupabase(config);
    case 'postgres-redis': return openPostgresRedis(config);
    default: return openPostgres(config);
  }
}

function assemble(kind: BackendKind, parts: {
  sessions: SessionStore; records: SessionStore; bus: SyncBus<AppTopics>; rateLimits: RateLimitStore;
  jobBackend: JobBackend; close: () => Promise<void>;
}): Backend {
  let queue: JobQueue | undefined;
  const targets = (): ShutdownTarget[] => [
    parts.bus, ...(queue ? [queue] : []), parts.sessions, parts.records, parts.rateLimits,
    { close: parts.close },
  ];
  return {
    kind, sessions: parts.sessions, records: parts.records, bus: parts.bus, rateLimits: parts.rateLimits,
    jobFeatures: parts.jobBackend.features ?? [],
    jobQueue: (options) => (queue = new JobQueue(parts.jobBackend, options)),
    shutdownTargets: targets,
    close: async () => { await shutdown(targets()); },
  };
}

async function openMemory(): Promise<Backend> {
  const m = await import('botwire/memory');
  const sessions = m.memorySessionStore();
  return assemble('memory', {
    sessions, records: m.memorySessionStore({ maxEntries: 1_000_000 }), bus: m.memorySyncBus<AppTopics>(),
    rateLimits: m.memoryRateLimitStore(), jobBackend: m.memoryJobBackend(), close: async () => undefined,
  });
}

async function openPostgres(config: AppConfig): Promise<Backend> {
  const p = await import('botwire/postgres');
  let client: import('botwire/postgres').PgQueryable;
  let end: () => Promise<void>;
  const schema = config.schema;
  if (config.backend === 'postgres') {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 8 });
    pool.on('error', () => undefined); // an idle connection's error must not crash the process
    client = pool;
    end = () => pool.end();
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = config.pgliteDir ? new PGlite(config.pgliteDir) : new PGlite();
    // Embedded: this process owns the database, so migrating at start cannot race another instance.
    await p.migrate(db, { schema });
    client = db;
    end = () => db.close();
  }
  return assemble(config.backend, {
    sessions: p.postgresSessionStore({ client, schema }),
    records: p.postgresSessionStore({ client, schema }),
    bus: p.postgresSyncBus<AppTopics>({ client, schema }),
    rateLimits: p.postgresRateLimitStore({ client, schema }),
    jobBackend: p.postgresJobBackend({ client, schema }),
    close: end,
  });
}

async function openRedis(config: AppConfig): Promise<Backend> {
  const r = await import('botwire/redis');
  const { Redis } = await import('ioredis');
  const client = new Redis(config.redisUrl!, { maxRetriesPerRequest: 2 });
  const prefix = config.redisPrefix ?? 'app:';
  return assemble('redis', {
    sessions: r.redisSessionStore({ client, prefix: `${prefix}s:` }),
    records: r.redisSessionStore({ client, prefix: `${prefix}r:` }),
    bus: r.redisSyncBus<AppTopics>({ client, channelPrefix: `${prefix}sync:` }),
    rateLimits: r.redisRateLimitStore({ client, prefix: `${prefix}rl:` }),
    jobBackend: r.redisJobBackend({ client, prefix: `${prefix}jobs` }),
    close: async () => { await client.quit().catch(() => client.disconnect()); },
  });
}

/** The VPS layout: what must last (records, jobs) in Postgres; what is hot (sessions, counters, events) on Redis. */
async function openPostgresRedis(config: AppConfig): Promise<Backend> {
  const p = await import('botwire/postgres');
  const r = await import('botwire/redis');
  const { default: pg } = await import('pg');
  const { Redis } = await import('ioredis');
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 8 });
  pool.on('error', () => undefined);
  const client = new Redis(config.redisUrl!, { maxRetriesPerRequest: 2 });
  const prefix = config.redisPrefix ?? 'app:';
  const schema = config.schema;
  return assemble('postgres-redis', {
    sessions: r.redisSessionStore({ client, prefix: `${prefix}s:` }),
    records: p.postgresSessionStore({ client: pool, schema }),
    bus: r.redisSyncBus<AppTopics>({ client, channelPrefix: `${prefix}sync:` }),
    rateLimits: r.redisRateLimitStore({ client, prefix: `${prefix}rl:` }),
    jobBackend: p.postgresJobBackend({ client: pool, schema }),
    close: async () => {
      await client.quit().catch(() => client.disconnect());
      await pool.end();
    },
  });
}

async function openSupabase(config: AppConfig): Promise<Backend> {
  const s = await import('botwire/supabase');
  const { createClient } = await import('@supabase/supabase-js');
  const { default: ws } = await import('ws');
  // supabase-js throws on Node 20 without a WebSocket transport, even when realtime is unused.
  const client = createClient(config.supabaseUrl!, config.supabaseKey!, {
    auth: { persistSession: false, autoRefreshToken: false },
    db: { schema: config.schema ?? 'botwire' },
    realtime: { transport: ws as never },
  });
  const schema = config.schema;
  return assemble('supabase', {
    sessions: s.supabaseSessionStore({ client, schema }),
    records: s.supabaseSessionStore({ client, schema }),
    // Publishes only: other instances learn of changes when their cache entries expire (60 s).
    bus: s.supabaseSyncBus<AppTopics>({ client, schema }),
    rateLimits: s.supabaseRateLimitStore({ client, schema }),
    jobBackend: s.supabaseJobBackend({ client, schema }),
    close: async () => { await client.removeAllChannels(); },
  });
}

/** Job handlers type re-exported for the wiring in `app.ts`. */
export type { JobHandlers };
