/**
 * The backends the cross-process fleet tests (test/fleet-cross-process.test.ts) run on: Redis and Postgres. Each entry
 * prepares storage for one test (a fresh key prefix, schema, …) described by a JSON string, which
 * the driver and every worker process (test/fixtures/fleet-worker.ts, started with it on argv)
 * open on their own connections. To run the tests on another backend, add an entry here.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { postgresJobQueue } from '../../adapters/postgres/job-backend.js';
import { migrate } from '../../adapters/postgres/migrate.js';
import { postgresSemaphoreBackend } from '../../adapters/postgres/semaphore.js';
import { redisJobQueue } from '../../adapters/redis/job-backend.js';
import { redisSemaphoreBackend } from '../../adapters/redis/semaphore.js';
import type { JobQueue, JobQueueOptions } from '../../src/jobs/job-queue.js';
import type { SemaphoreBackend } from '../../src/jobs/semaphore-backend.js';
import { deleteKeys } from './redis-keys.js';
import { DATABASE_URL, REDIS_URL, uniqueName } from './services.js';

/** One process's view of the storage of a test. */
export interface FleetConnection {
  /** A queue on the test's storage (each call a new queue object on the same connection). */
  queue(options: JobQueueOptions): JobQueue;
  /** The semaphore backend on the test's storage. */
  semaphore(): SemaphoreBackend;
  close(): Promise<void>;
}

/** A backend the cross-process fleet tests run on. */
export interface FleetBackendKind {
  /** The service it needs (the test is skipped outside CI when it is down). */
  service: 'redis' | 'postgres';
  /** Fresh storage for one test: `config` goes to every process; `teardown` drops it. */
  setup(): Promise<{ config: string; teardown: () => Promise<void> }>;
  /** Open the storage `config` names, in this process. */
  open(config: string): FleetConnection;
}

export const fleetBackends: Record<string, FleetBackendKind> = {
  redis: {
    service: 'redis',
    async setup() {
      const prefix = `${uniqueName('bwtest_xfleet')}:`;
      return {
        config: JSON.stringify({ url: REDIS_URL, prefix }),
        async teardown() {
          const client = new Redis(REDIS_URL);
          await deleteKeys(client, `{${prefix}*`);
          await deleteKeys(client, `${prefix}*`);
          await client.quit();
        },
      };
    },
    open(config) {
      const { url, prefix } = JSON.parse(config) as { url: string; prefix: string };
      const client = new Redis(url);
      const sem = redisSemaphoreBackend({ client, prefix: `${prefix}sem:` });
      return {
        queue: (options) => redisJobQueue({ ...options, client, prefix }),
        semaphore: () => sem,
        async close() {
          await sem.close();
          await client.quit();
        },
      };
    },
  },
  postgres: {
    service: 'postgres',
    async setup() {
      const schema = uniqueName('bw_xfleet');
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      try { await migrate(admin, { schema }); } finally { await admin.end(); }
      return {
        config: JSON.stringify({ url: DATABASE_URL, schema }),
        async teardown() {
          const client = new pg.Client({ connectionString: DATABASE_URL });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await client.end();
        },
      };
    },
    open(config) {
      const { url, schema } = JSON.parse(config) as { url: string; schema: string };
      // A pool per process: the LISTEN connection, plus the claims and completions of its worker.
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      const sem = postgresSemaphoreBackend({ client: pool, schema });
      const queues: JobQueue[] = [];
      return {
        queue: (options) => { const q = postgresJobQueue({ ...options, client: pool, schema }); queues.push(q); return q; },
        semaphore: () => sem,
        async close() {
          await sem.close();
          for (const q of queues) await q.close();
          await pool.end();
        },
      };
    },
  },
};
