import type { JobQueueOptions } from 'botwire/jobs';
import type { PgQueryable } from './client.js';

/** Options of {@link postgresJobBackend}. */
export interface PostgresJobBackendOptions {
  /**
   * A `pg.Pool`, a `pg.Client`, a PGlite instance — anything with `query(text, params)`. The queue
   * never closes it; it only releases the listener connection it took from a pool.
   */
  client: PgQueryable;
  /** Schema created by `migrate()`. @default 'botwire' */
  schema?: string;
  /**
   * Wake workers on new jobs through `LISTEN`/`NOTIFY` (one dedicated pool connection, or PGlite's
   * in-process listener). Set `false` behind a transaction pooler (PgBouncer, Supavisor port 6543):
   * workers then poll, and serverless ticks (`runDue`) never need it.
   * @default true
   */
  listen?: boolean;
  /**
   * Send a NOTIFY when a job is added while some LISTENing worker is idle (workers register as idle
   * in `job_waiters` when a claim comes back short), so it starts the job at once. NOTIFY serializes
   * committing transactions on a global lock, hence only then; `false` never sends it.
   * @default the value of `listen`
   */
  notify?: boolean;
  /**
   * Send the queue's statements as named prepared statements on node-postgres (`pg`): each
   * connection parses and plans them once instead of once per job. Set `false` behind a pooler that
   * cannot keep them across transactions (PgBouncer in transaction mode before 1.21, Supavisor
   * port 6543). PGlite ignores it.
   * @default true
   */
  preparedStatements?: boolean;
  /**
   * `client` goes through a session-mode pooler (PgBouncer `pool_mode = session`, Supavisor port
   * 5432), where LISTEN works. Otherwise wake-ups through any pooler are refused: the worker's
   * `start()` rejects with a `BotwireConfigError` (use a direct connection or `listen: false`).
   * @default false
   */
  sessionPooler?: boolean;
}

/** Options of {@link postgresJobQueue}: where the jobs live plus every {@link JobQueueOptions} option. */
export interface PostgresJobQueueOptions extends JobQueueOptions, PostgresJobBackendOptions {}

/** Channel `job_wake` notifies on; the payload is `<quoted schema>:<job name>`. */
export const JOBS_CHANNEL = 'botwire_jobs';
