/**
 * A private Redis Cluster of 3 masters + 3 replicas on free ports, for tests that need a real
 * multi-master cluster and its failover (never the shared server on 6379). Each node is a
 * `redis-server --cluster-enabled yes` child process without persistence; `redis-cli --cluster
 * create --cluster-replicas 1` assigns the slots and pairs every master with a replica.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { portAccepts } from './ports.js';

/** Whether both `redis-server` and `redis-cli` are on PATH. */
export const hasRedisCluster =
  spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;

/** One node of the private cluster as `CLUSTER NODES` reports it. */
export interface ClusterNode {
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** For a replica, the port of its master. */
  readonly masterPort?: number;
}

/** A running private Redis Cluster. */
export interface PrivateRedisCluster {
  /** The ports of all six nodes. */
  readonly ports: readonly number[];
  /** Startup nodes for an ioredis `Cluster`. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** A new ioredis `Cluster` client on it (close it yourself). */
  client(options?: ConstructorParameters<typeof Cluster>[1]): Cluster;
  /** The current roles, as seen by a live node. */
  nodes(): Promise<ClusterNode[]>;
  /** The port of the master serving `key`'s slot. */
  masterOf(key: string): Promise<number>;
  /** SIGKILL the node on `port` (a crash: no shutdown, no last replication) and wait for it to exit. */
  kill(port: number): Promise<void>;
  /** SIGSTOP the node on `port`: its connections stay open, it reads nothing (a replica falling behind). */
  pause(port: number): void;
  /** SIGCONT a paused node. */
  resume(port: number): void;
  /**
   * Start the node on `port` again with its cluster config (no data: persistence is off). A master
   * whose slots were taken over meanwhile rejoins as a replica of the promoted one.
   */
  restart(port: number): Promise<void>;
  /** Resolves once every live node reports `cluster_state:ok` and every slot has a reachable master. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Kill every node and remove their files. */
  dispose(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` (six unless told) consecutive ports whose cluster bus ports (+10000) are free too. */
async function freePorts(count = 6): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = 21_000 + Math.floor(Math.random() * 20_000);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    const free = await Promise.all(ports.flatMap((p) => [portFree(p), portFree(p + 10_000)]));
    if (free.every(Boolean)) return ports;
  }
  throw new Error(`no ${count} free ports (with their cluster bus ports) found for a private Redis Cluster`);
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
    '--cluster-node-timeout', '1000', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    // A replica takes over however long it was cut off from its master (the test kills masters).
    '--cluster-replica-validity-factor', '0', '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0',
  ], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => { exited = true; });
  for (let i = 0; i < 400; i++) {
    if (exited) throw new Error(`redis-server exited on port ${port}`);
    if (await portAccepts(port)) return child;
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on port ${port}`);
}

function parseNodes(text: string): ClusterNode[] {
  const rows = text.trim().split('\n').map((line) => line.split(' '));
  const portOf = new Map(rows.map((r) => [r[0]!, Number(r[1]!.split('@')[0]!.split(':').pop())]));
  return rows
    .filter((r) => !r[2]!.includes('fail') && !r[2]!.includes('noaddr'))
    .map((r) => {
      const port = portOf.get(r[0]!)!;
      if (r[2]!.includes('master')) return { port, role: 'master' as const };
      return { port, role: 'replica' as const, masterPort: portOf.get(r[3]!) };
    });
}

async function onNode<T>(port: number, run: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  r.on('error', () => {});
  try {
    await r.connect();
    return await run(r);
  } finally {
    r.disconnect();
  }
}

/** Start a private 3 + 3 Redis Cluster and wait until it is healthy with all replicas in sync. */
export async function startRedisCluster(): Promise<PrivateRedisCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), 'botwire-cluster-'));
  const ports = await freePorts();
  const children = new Map<number, ChildProcess>();
  const dispose = async (): Promise<void> => {
    await Promise.all([...children.keys()].map((p) => kill(p)));
    rmSync(dir, { recursive: true, force: true });
  };
  const kill = async (port: number): Promise<void> => {
    const c = children.get(port);
    children.delete(port);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
  };
  const live = (): number[] => ports.filter((p) => children.has(p));
  const nodes = async (): Promise<ClusterNode[]> => {
    for (const p of live()) {
      const text = await onNode(p, (r) => r.call('CLUSTER', 'NODES') as Promise<string>).catch(() => undefined);
      if (text) return parseNodes(text);
    }
    throw new Error('no node of the private Redis Cluster answers');
  };
  const waitHealthy = async (timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const states = await Promise.all(live().map((p) =>
        onNode(p, async (r) => {
          const info = String(await r.call('CLUSTER', 'INFO'));
          const repl = await r.info('replication');
          return info.includes('cluster_state:ok') && (!repl.includes('role:slave') || repl.includes('master_link_status:up'));
        }).catch(() => false)));
      if (states.every(Boolean)) {
        const masters = (await nodes()).filter((n) => n.role === 'master' && children.has(n.port));
        if (masters.length === 3) return;
        last = `${masters.length} live masters`;
      } else {
        last = `nodes ok: ${states.join(',')}`;
      }
      await sleep(100);
    }
    throw new Error(`private Redis Cluster not healthy within ${timeoutMs} ms (${last})`);
  };
  try {
    for (const p of ports) children.set(p, await launch(p, dir));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}\n${create.stderr}`);
    await waitHealthy(30_000);
  } catch (err) {
    await dispose();
    throw err;
  }
  const startupNodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return {
    ports,
    startupNodes,
    client: (options) => new Cluster(startupNodes, options),
    nodes,
    masterOf: async (key) => {
      const slot = Number(await onNode(live()[0]!, (r) => r.call('CLUSTER', 'KEYSLOT', key)));
      for (const p of live()) {
        const slots = await onNode(p, (r) => r.call('CLUSTER', 'SLOTS') as Promise<Array<[number, number, [string, number]]>>).catch(() => undefined);
        if (!slots) continue;
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        if (range) return Number(range[2][1]);
      }
      throw new Error(`no master found for slot ${slot}`);
    },
    kill,
    pause: (port) => { children.get(port)?.kill('SIGSTOP'); },
    resume: (port) => { children.get(port)?.kill('SIGCONT'); },
    restart: async (port) => {
      await kill(port);
      children.set(port, await launch(port, dir));
    },
    waitHealthy,
    dispose,
  };
}

/** A running private Redis Cluster of masters only (no replicas, no failover). */
export interface PrivateRedisMasters {
  /** The masters' ports, in slot order: the first owns the lowest slots. */
  readonly ports: readonly number[];
  /** Startup nodes for an ioredis `Cluster`. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** A new ioredis `Cluster` client on it (close it yourself). */
  client(options?: ConstructorParameters<typeof Cluster>[1]): Cluster;
  /** Kill every node and remove their files. */
  dispose(): Promise<void>;
}

/**
 * Start a private Redis Cluster of `masters` (1 or more) masters without replicas, the 16384 slots
 * split evenly in ranges (`redis-cli --cluster create` refuses fewer than 3 masters, so the slots
 * are assigned with `CLUSTER ADDSLOTSRANGE` and the nodes joined with `CLUSTER MEET`). For
 * throughput runs on 1, 2 and 3 masters (bench/capacity.ts).
 */
export async function startRedisMasters(masters: number): Promise<PrivateRedisMasters> {
  const dir = mkdtempSync(path.join(tmpdir(), 'botwire-masters-'));
  const ports = await freePorts(masters);
  const children: ChildProcess[] = [];
  const dispose = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.exitCode !== null || c.signalCode !== null
      ? undefined
      : new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); })));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const p of ports) children.push(await launch(p, dir));
    await Promise.all(ports.map((p, i) => onNode(p, async (r) => {
      const from = Math.floor((16_384 * i) / masters);
      const to = Math.floor((16_384 * (i + 1)) / masters) - 1;
      // A node that never met another does not know its own address, and reports an empty host in
      // CLUSTER SLOTS (a 1-master cluster), which a Cluster client cannot connect to.
      await r.config('SET', 'cluster-announce-ip', '127.0.0.1');
      await r.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
      if (i > 0) await r.call('CLUSTER', 'MEET', '127.0.0.1', String(ports[0]));
    })));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await Promise.all(ports.map((p) => onNode(p, async (r) => {
        const info = String(await r.call('CLUSTER', 'INFO'));
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`);
      }).catch(() => false)));
      if (ok.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`private Redis Cluster of ${masters} masters not healthy within 20 s`);
      await sleep(50);
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  const startupNodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  return { ports, startupNodes, client: (options) => new Cluster(startupNodes, options), dispose };
}
