/**
 * A private PostgreSQL server for bench/capacity.ts: `initdb` into a temporary directory and a
 * `postgres` child process on a free port, with `pg_stat_statements` preloaded (the shared server
 * does not preload it, and must not be reconfigured). Being alone on it, the bench can read WAL
 * positions and every server process's CPU time without other clients' work mixed in.
 * Postgres refuses to run as root: as root, the server runs as the `postgres` OS user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, portAccepts } from '../test/support/ports.js';

/** A running private Postgres. */
export interface PrivatePostgres {
  readonly url: string;
  /** The postmaster's pid: its children are the server's processes. */
  readonly pid: number;
  /** PostgreSQL's major version. */
  readonly version: string;
  /** Stop it (fast shutdown) and remove its files. */
  dispose(): Promise<void>;
}

/** The directory holding `initdb` and `postgres`, or undefined when there is none. */
function binDir(): string | undefined {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const candidates = [fromConfig.status === 0 ? fromConfig.stdout.trim() : ''];
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  }
  return candidates.find((d) => d && existsSync(path.join(d, 'initdb')) && existsSync(path.join(d, 'postgres')));
}

/** uid/gid of the `postgres` OS user when we are root (Postgres will not run as root). */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * Start a private Postgres with initdb's defaults (fsync and synchronous_commit on, autovacuum on)
 * plus `pg_stat_statements` (track = all, so statements inside functions are counted too), or
 * return undefined when no server binaries are installed or it cannot start.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres | undefined> {
  const bin = binDir();
  if (!bin) return undefined;
  const user = runAs();
  if (process.getuid?.() === 0 && !user) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'botwire-pg-'));
  const data = path.join(dir, 'data');
  if (user) chownSync(dir, user.uid, user.gid);
  const init = spawnSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { encoding: 'utf8', ...(user ?? {}) });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`initdb failed: ${init.stderr}`);
    return undefined;
  }
  const port = await freePort();
  const child: ChildProcess = spawn(path.join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
    '-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all', '-c', 'max_connections=200',
  ], { stdio: 'ignore', ...(user ?? {}) });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const dispose = async (): Promise<void> => {
    if (!exited) await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGINT'); });
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 400 && !exited; i++) {
    // The port opens before the server accepts sessions ("the database system is starting up").
    if (await portAccepts(port) && spawnSync(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres']).status === 0) {
      const version = /PostgreSQL\) (\d+)/.exec(spawnSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
      return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, pid: child.pid!, version, dispose };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await dispose();
  return undefined;
}

/**
 * CPU time (µs, user + system) of `pid` so far, or 0 once it is gone: from /proc/<pid>/schedstat
 * (nanoseconds; Postgres processes are single-threaded) where the kernel has it, else utime + stime
 * of /proc/<pid>/stat, in 10 ms ticks — too coarse for a few hundred ms of backend time. With
 * `children`, plus the time of its children that exited (cutime + cstime: ticks only).
 */
export function processCpuUs(pid: number, children = false): number {
  let stat: string;
  try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return 0; }
  // Fields after "(comm)": utime/stime are fields 14/15, cutime/cstime 16/17 (1-based).
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = 10_000; // USER_HZ is 100 on Linux: one tick is 10 ms
  const exited = children ? (Number(f[13]) + Number(f[14])) * tick : 0;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1_000 + exited;
  } catch {
    return (Number(f[11]) + Number(f[12])) * tick + exited;
  }
}

/** CPU µs of a server's processes: the postmaster, its live children and those that exited. */
export function serverCpuUs(postmaster: number): number {
  return processCpuUs(postmaster, true) + childPids(postmaster).reduce((s, pid) => s + processCpuUs(pid), 0);
}

/** The parent of `pid` (Linux /proc): a backend's postmaster. */
export function parentPid(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The pids of `parent`'s live child processes (Linux /proc). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { continue; }
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(pid));
  }
  return out;
}
