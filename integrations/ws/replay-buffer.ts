/**
 * The gateway's bounded memory of recent events, so a reconnecting client can be sent what it missed.
 *
 * @module
 */

/** One remembered event: its gateway seq, topic and ready-to-send frame (UTF-8 text). */
export interface BufferedEvent {
  readonly seq: number;
  readonly topic: string;
  readonly frame: Buffer;
}

/** A ring of the last `capacity` events in seq order, holding at most `maxBytes` of frames. */
export class ReplayBuffer {
  private readonly items: (BufferedEvent | undefined)[];
  private start = 0;
  private size = 0;
  private bytes = 0;
  /** Highest seq ever evicted (0 = nothing lost yet). */
  private evictedUpTo = 0;

  constructor(readonly capacity: number, readonly maxBytes = Infinity) {
    this.items = new Array<BufferedEvent | undefined>(Math.max(0, capacity));
  }

  push(event: BufferedEvent): void {
    if (this.capacity === 0 || event.frame.length > this.maxBytes) {
      this.evictedUpTo = event.seq;
      return;
    }
    while (this.size === this.capacity || (this.size > 0 && this.bytes + event.frame.length > this.maxBytes)) this.evictOldest();
    this.items[(this.start + this.size) % this.capacity] = event;
    this.size++;
    this.bytes += event.frame.length;
  }

  private evictOldest(): void {
    const old = this.items[this.start]!;
    this.items[this.start] = undefined;
    this.start = (this.start + 1) % this.capacity;
    this.size--;
    this.bytes -= old.frame.length;
    this.evictedUpTo = old.seq;
  }

  /** True when every event after `seq` is still here. */
  covers(seq: number): boolean {
    return seq >= this.evictedUpTo;
  }

  /** Events with a seq greater than `seq`, oldest first. */
  *after(seq: number): Generator<BufferedEvent> {
    for (let i = 0; i < this.size; i++) {
      const e = this.items[(this.start + i) % this.capacity]!;
      if (e.seq > seq) yield e;
    }
  }

  clear(): void {
    this.items.fill(undefined);
    this.start = this.size = this.bytes = 0;
  }
}
