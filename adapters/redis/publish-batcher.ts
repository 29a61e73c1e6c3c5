import type { RedisLike } from './redis-like.js';
import { luaScript, runScript } from './script.js';

/**
 * PUBLISHes of many messages in one command: ARGV holds channel, message, channel, message …
 * No keys: classic pub/sub reaches every node of a Cluster from whichever node runs it.
 */
const publishMany = luaScript('sync-publish-many', 0, `
for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end
return #ARGV / 2
`);

/**
 * The same on Redis Cluster, with one declared key that only routes the call: ioredis sends a
 * keyless command to a random node, and messages published on different nodes reach a subscriber
 * in no particular order. Routed by a key, every publish of one bus leaves from the same node, in
 * order, and that node forwards them to the whole cluster.
 */
const publishRouted = luaScript('sync-publish-routed', 1, publishMany.source);

/** Most messages, and most UTF-16 units of message text, in one batched command. */
const MAX_BATCH = 256;
const MAX_BATCH_UNITS = 1 << 20;
/**
 * A batch in flight for longer than this no longer holds the next one back: a reply lost with a
 * dying connection must not stall every publish behind it until the timeout.
 */
const STALL_MS = 20;

interface Pending { channel: string; text: string; done: () => void; fail: (err: unknown) => void }

/**
 * Nagle-style publishing for the sync bus: a message goes out at once as a plain PUBLISH when
 * nothing is in flight; messages published while a command is in flight leave together in one
 * script call when it returns. A burst of 500 events costs a few commands instead of 500: each
 * write to a loopback socket cost more client CPU than the PUBLISH it carried (11 µs per event at
 * one write per event), and any per-event work between writes (signing) made it grow.
 */
export class PublishBatcher {
  #pending: Pending[] = [];
  #inFlight = 0;
  #sentAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param client the connection to publish on (ready, or being connected)
   * @param timeoutMs a batch unanswered after this long fails (the bus counts its events dropped)
   * @param routeKey on a Cluster client, the key whose node publishes every message (see `publishRouted`)
   */
  constructor(
    private readonly client: () => RedisLike | Promise<RedisLike>,
    private readonly timeoutMs: number,
    private readonly routeKey = 'botwire:sync',
  ) {}

  /** Publish `text` on `channel`; resolves once Redis took it (in a batch or alone). */
  publish(channel: string, text: string): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.#pending.push({ channel, text, done, fail });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#pending.length === 0) return;
    if (this.#inFlight > 0) {
      const waited = performance.now() - this.#sentAt;
      if (waited < STALL_MS) {
        this.#timer ??= setTimeout(() => { this.#timer = undefined; this.#kick(); }, STALL_MS - waited);
        return;
      }
    }
    const batch = this.#take();
    this.#inFlight++;
    this.#sentAt = performance.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unanswered = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      (timer as { unref?: () => void }).unref?.();
    });
    Promise.race([this.#send(batch), unanswered]).then(
      () => { for (const p of batch) p.done(); },
      (err: unknown) => { for (const p of batch) p.fail(err); },
    ).finally(() => {
      clearTimeout(timer);
      this.#inFlight--;
      this.#kick();
    });
  }

  async #send(batch: Pending[]): Promise<void> {
    const client = await this.client();
    if (client.isCluster === true) {
      const args: string[] = [];
      for (const p of batch) args.push(p.channel, p.text);
      await runScript(client, publishRouted, [this.routeKey], args);
      return;
    }
    if (batch.length === 1) {
      await client.publish!(batch[0]!.channel, batch[0]!.text);
      return;
    }
    const args: string[] = [];
    for (const p of batch) args.push(p.channel, p.text);
    await runScript(client, publishMany, [], args);
  }

  /** The next batch: as many waiting messages as fit the count and size bounds (at least one). */
  #take(): Pending[] {
    let n = 0;
    let units = 0;
    while (n < this.#pending.length && n < MAX_BATCH) {
      const next = this.#pending[n]!.text.length;
      if (n > 0 && units + next > MAX_BATCH_UNITS) break;
      units += next;
      n++;
    }
    return this.#pending.splice(0, n);
  }
}
