/**
 * A private redis-server child process on a random port, for tests that kill, restart or flush a
 * server (never do that to the shared one other test files use).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { portAccepts } from './ports.js';

/** Whether a `redis-server` binary is on PATH. */
export const hasRedisServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** A running (or stopped) private Redis. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL the server (a crash, not a shutdown) and wait for it to exit. */
  kill(): Promise<void>;
  /** Start it again on the same port. */
  restart(): Promise<void>;
  /** SIGSTOP the server: connections stay open, nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT a paused server. */
  resume(): void;
  /** Kill it and remove its files. */
  dispose(): Promise<void>;
}

async function launch(port: number, dir: string, cluster: boolean): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
  if (cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'));
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`redis-server exited on port ${port}`);
    if (await portAccepts(port)) return child;
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

async function claimAllSlots(port: number): Promise<void> {
  const admin = new Redis(port, '127.0.0.1', { lazyConnect: true });
  try {
    await admin.connect();
    await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    for (let i = 0; i < 200; i++) {
      if (String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('single-node cluster did not reach cluster_state:ok');
  } finally {
    admin.disconnect();
  }
}

/**
 * Start a private redis-server. With `cluster`, it is a single-node Redis Cluster owning all 16384
 * slots, so it rejects any script whose keys are in different slots (CROSSSLOT), like a real cluster.
 */
export async function startPrivateRedis(options: { cluster?: boolean } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(tmpdir(), 'botwire-redis-'));
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = 20_000 + Math.floor(Math.random() * 20_000);
    if (await portAccepts(port)) continue;
    child = await launch(port, dir, options.cluster ?? false).catch(() => undefined);
  }
  if (!child) throw new Error('could not start a private redis-server');
  if (options.cluster) await claimAllSlots(port);
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    restart: async () => { await kill(); child = await launch(port, dir, options.cluster ?? false); },
    pause: () => { child?.kill('SIGSTOP'); },
    resume: () => { child?.kill('SIGCONT'); },
    dispose: async () => { await kill(); rmSync(dir, { recursive: true, force: true }); },
  };
}
