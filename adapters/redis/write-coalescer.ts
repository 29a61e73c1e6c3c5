import type { RedisLike } from './redis-like.js';

/** The part of a Node socket (ioredis's `client.stream`) used to batch writes. */
interface Corkable {
  cork(): void;
  uncork(): void;
}

const corked = new Set<Corkable>();
let scheduled = false;

function flush(): void {
  scheduled = false;
  for (const stream of corked) stream.uncork();
  corked.clear();
}

/**
 * Let every command sent on `client`'s connection until the current tick's work is done go out in
 * ONE socket write. ioredis writes each command with its own syscall; at a few thousand concurrent
 * session calls per second those syscalls (client and server side) are the largest single cost. A
 * corked socket buffers the writes and `uncork` on `process.nextTick` (after the microtasks that
 * issue more commands) sends them together, exactly as written: each call is still one command and
 * waits for one reply. A no-op for clients without a socket `stream` (Cluster, wrappers) or while
 * not `ready` (ioredis would not write to the socket then).
 */
export function coalesceWrites(client: RedisLike): void {
  const stream = (client as { stream?: Partial<Corkable> }).stream;
  if (!stream || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function' || client.status !== 'ready') return;
  if (corked.has(stream as Corkable)) return;
  stream.cork();
  corked.add(stream as Corkable);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(flush);
  }
}
