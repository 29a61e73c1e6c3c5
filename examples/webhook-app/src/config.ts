/**
 * Everything the app reads from the environment, read once. The backend is `BACKEND` when set
 * (`pglite`, `postgres`, `redis`, `postgres-redis`, `supabase`, `memory`), else chosen by what is
 * set: `SUPABASE_URL` + `SUPABASE_SERVICE_ROLE_KEY`; else `DATABASE_URL` and `REDIS_URL` together
 * (`postgres-redis`: records and jobs in Postgres, sessions, rate limits and events on Redis — the
 * VPS layout); else `REDIS_URL`; else `DATABASE_URL`; else embedded PGlite in `PGLITE_DIR` (in
 * memory without it).
 */
export type BackendKind = 'pglite' | 'postgres' | 'redis' | 'postgres-redis' | 'supabase' | 'memory';

/** pino's levels, most to least verbose, and `silent` (no lines at all). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

export interface AppConfig {
  backend: BackendKind;
  botToken: string;
  /** Bot API root; a local `telegram-test-api` in the demo and tests. @default 'https://api.telegram.org' */
  apiRoot: string;
  /** Telegram sends it as `X-Telegram-Bot-Api-Secret-Token`; updates without it are refused. */
  webhookSecret: string;
  /** Vercel Cron sends `Authorization: Bearer $CRON_SECRET` (at least 16 characters). */
  cronSecret: string;
  /** Bearer token of the admin API. */
  adminToken: string;
  /** Telegram user ids allowed to use admin commands. */
  adminIds: ReadonlySet<number>;
  databaseUrl?: string;
  redisUrl?: string;
  supabaseUrl?: string;
  supabaseKey?: string;
  pgliteDir?: string;
  /** Postgres/Supabase schema of botwire's tables, Redis key prefix (tests use unique ones). */
  schema?: string;
  redisPrefix?: string;
  /** Delay before a partial report is retried; Vercel's tick runs every 5 min. @default 300000 */
  reportRetryMs: number;
  /** How long an /imagine stand-in "generates", [min, max] ms. @default [1000, 3000] */
  imagineMs: [number, number];
  /** Commands per minute per user. @default 10 */
  commandsPerMinute: number;
  /** The bot's `getMe` answer as JSON (`BOT_INFO`): saves that call on every cold start. */
  botInfo?: string;
  /**
   * Tell the admins (`ADMIN_IDS`) in Telegram when a server process starts its worker and when it
   * stops (`NOTIFY_ADMINS=1`); off by default, so tests and local runs do not message anyone.
   * @default false
   */
  notifyAdmins: boolean;
  /** How long running jobs may finish on SIGTERM before they are handed back to the queue. @default 10000 */
  shutdownGraceMs: number;
  /** The app's pino level (`LOG_LEVEL`); `silent` writes no lines. @default 'info' */
  logLevel: LogLevel;
}

/** Read the configuration from `env`; refuses to start without the secrets a deployment needs. */
export function readConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set (see examples/webhook-app/README.md, "Environment")`);
    return value;
  };
  const kinds: readonly string[] = ['pglite', 'postgres', 'redis', 'postgres-redis', 'supabase', 'memory'];
  if (env.BACKEND && !kinds.includes(env.BACKEND)) throw new Error(`BACKEND must be one of ${kinds.join(', ')} (or unset)`);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (or unset)`);
  const backend: BackendKind = env.BACKEND ? env.BACKEND as BackendKind
    : env.SUPABASE_URL ? 'supabase'
      : env.REDIS_URL && env.DATABASE_URL ? 'postgres-redis'
      : env.REDIS_URL ? 'redis'
        : env.DATABASE_URL ? 'postgres'
          : 'pglite';
  const cronSecret = need('CRON_SECRET');
  if (cronSecret.length < 16) throw new Error('CRON_SECRET must have at least 16 characters');
  const imagine = (env.IMAGINE_MS ?? '1000-3000').split('-').map(Number);
  return {
    backend,
    botToken: need('BOT_TOKEN'),
    apiRoot: env.TELEGRAM_API_ROOT ?? 'https://api.telegram.org',
    webhookSecret: need('WEBHOOK_SECRET'),
    cronSecret,
    adminToken: need('ADMIN_TOKEN'),
    adminIds: new Set((env.ADMIN_IDS ?? '').split(',').filter(Boolean).map(Number)),
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    supabaseUrl: env.SUPABASE_URL,
    supabaseKey: backend === 'supabase' ? need('SUPABASE_SERVICE_ROLE_KEY') : undefined,
    pgliteDir: env.PGLITE_DIR,
    schema: env.BOTWIRE_SCHEMA,
    redisPrefix: env.REDIS_PREFIX,
    reportRetryMs: Number(env.REPORT_RETRY_MS ?? 300_000),
    imagineMs: [imagine[0] ?? 1000, imagine[1] ?? imagine[0] ?? 3000],
    commandsPerMinute: Number(env.COMMANDS_PER_MINUTE ?? 10),
    botInfo: env.BOT_INFO,
    notifyAdmins: env.NOTIFY_ADMINS === '1',
    shutdownGraceMs: Number(env.SHUTDOWN_GRACE_MS ?? 10_000),
    logLevel: logLevel as LogLevel,
  };
}
