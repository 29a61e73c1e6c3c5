/**
 * A private PgBouncer child process in transaction mode on a free port, in front of the shared
 * Postgres (never reconfigured): tests run botwire through a real transaction pooler with it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DATABASE_URL } from './services.js';
import { freePort, portAccepts } from './ports.js';

const versionText = spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' }).stdout ?? '';
const match = /PgBouncer (\d+)\.(\d+)/.exec(versionText);

/** Whether a `pgbouncer` binary is on PATH. */
export const hasPgBouncer = match !== null;

/**
 * PgBouncer 1.21 and later keep named prepared statements across transactions in transaction mode
 * (`max_prepared_statements`); older ones only work with unnamed statements.
 */
export const pgBouncerPrepares = match !== null && (Number(match[1]) > 1 || Number(match[2]) >= 21);

/** A running private PgBouncer. */
export interface PrivatePgBouncer {
  readonly port: number;
  /** `postgres://…` through the pooler, same database and user as `DATABASE_URL`. */
  readonly url: string;
  /** Whether botwire's `preparedStatements` may be on through this pooler. */
  readonly preparedStatements: boolean;
  /** Server connections PgBouncer holds open to Postgres right now (`SHOW SERVERS` on its admin console). */
  serverConnections(): Promise<number>;
  /** Stop it and remove its files. */
  stop(): Promise<void>;
}

/**
 * Start PgBouncer (`pool_mode = transaction`, trust auth) on a free port in front of `DATABASE_URL`.
 * PgBouncer refuses to run as root, so as root it drops to `nobody` (`-u`).
 */
export async function startPgBouncer(options: { poolSize?: number; maxClients?: number } = {}): Promise<PrivatePgBouncer> {
  const upstream = new URL(DATABASE_URL);
  const db = upstream.pathname.slice(1) || 'test';
  const user = decodeURIComponent(upstream.username || 'postgres');
  const dir = mkdtempSync(path.join(tmpdir(), 'botwire-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const lines = [
    '[databases]',
    `${db} = host=${upstream.hostname || '127.0.0.1'} port=${upstream.port || 5432} dbname=${db} user=${user}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${options.poolSize ?? 20}`,
    `max_client_conn = ${options.maxClients ?? 200}`,
    // node-postgres sends these startup parameters; PgBouncer refuses unknown ones by default.
    'ignore_startup_parameters = extra_float_digits,options',
    `admin_users = ${user}`,
    'server_reset_query =',
  ];
  if (pgBouncerPrepares) lines.push('max_prepared_statements = 200');
  writeFileSync(path.join(dir, 'pgbouncer.ini'), `${lines.join('\n')}\n`, { mode: 0o644 });
  writeFileSync(path.join(dir, 'userlist.txt'), `"${user}" ""\n`, { mode: 0o644 });
  const args = [path.join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) args.unshift('-u', 'nobody');
  const child: ChildProcess = spawn('pgbouncer', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await gone;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    if (exited) break;
    if (await portAccepts(port)) {
      const serverConnections = async (): Promise<number> => {
        const admin = new pg.Client({ connectionString: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/pgbouncer` });
        await admin.connect();
        try {
          return (await admin.query('SHOW SERVERS')).rows.length;
        } finally {
          await admin.end();
        }
      };
      const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${db}`;
      return { port, url, preparedStatements: pgBouncerPrepares, serverConnections, stop };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error(`pgbouncer did not start on port ${port}: ${log}`);
}
