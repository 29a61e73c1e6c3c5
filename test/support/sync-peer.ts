/** Drive a test/fixtures/sync-peer.ts child process (one SyncBus in its own OS process). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../fixtures/sync-peer.ts', import.meta.url));

/** A message the peer printed. */
export type PeerMessage = { type: string } & Record<string, unknown>;

/** A running peer. */
export interface SyncPeer {
  readonly id: string;
  send(cmd: object): void;
  /** Resolve with the next message of `type` (messages of other types are passed to `onOther`). */
  next(type: string, timeoutMs?: number): Promise<PeerMessage>;
  /** Every message is also handed here, e.g. to collect pongs. */
  onMessage(listener: (msg: PeerMessage) => void): void;
  stop(): Promise<void>;
}

/** Start a peer and wait until its bus is subscribed. */
export async function startSyncPeer(backend: 'redis' | 'postgres', url: string, space: string): Promise<SyncPeer> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath,
    ['--import', 'tsx', script, '--backend', backend, '--url', url, '--space', space], { cwd: root });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const queue: PeerMessage[] = [];
  const waiters: Array<{ type: string; resolve: (m: PeerMessage) => void }> = [];
  const listeners: Array<(m: PeerMessage) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: PeerMessage;
    try { msg = JSON.parse(line) as PeerMessage; } catch { return; }
    for (const l of listeners) l(msg);
    const i = waiters.findIndex((w) => w.type === msg.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(msg);
    else queue.push(msg);
  });
  const next = (type: string, timeoutMs = 30_000): Promise<PeerMessage> => {
    const i = queue.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer sent no "${type}" within ${timeoutMs} ms. stderr: ${stderr}`)), timeoutMs);
      waiters.push({ type, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  };
  const ready = await next('ready');
  return {
    id: ready.id as string,
    send: (cmd) => { child.stdin.write(JSON.stringify(cmd) + '\n'); },
    next,
    onMessage: (l) => { listeners.push(l); },
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve(); return; }
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => { clearTimeout(timer); resolve(); });
      child.stdin.write(JSON.stringify({ cmd: 'exit' }) + '\n');
    }),
  };
}
