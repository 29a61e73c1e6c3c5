/**
 * What a SyncBus receiver knows of each origin's sequence numbers, to tell new events from copies and
 * to notice lost ones.
 *
 * @module
 */

/** Origins not heard from for this long are forgotten (their next event starts a fresh sequence). */
const ORIGIN_IDLE_MS = 3_600_000;

/**
 * One origin: its highest seq delivered, and the seqs below it never seen (the latest gap, or
 * everything below the first event seen) — an event from that range is new, not a copy.
 */
interface OriginState { seq: number; seenAt: number; missingFrom: number; missingTo: number }

/** Per-origin sequence tracking. The broker keeps each origin's order; the bus only classifies. */
export class OriginSequences {
  private readonly origins = new Map<string, OriginState>();
  private lastPrune = Date.now();

  /** @param maxSeqJump largest forward jump taken as lost events; beyond it the origin starts over. */
  constructor(private readonly maxSeqJump: number) {}

  /**
   * Classify event `seq` of `origin` and remember it: `-1` for a copy of an event already delivered
   * (drop it), otherwise how many events of the origin went missing just before it (`0` = none).
   */
  accept(origin: string, seq: number, now = Date.now()): number {
    const state = this.origins.get(origin);
    if (!state) {
      // Whatever came before the first event we see of an origin is unknown, not old.
      this.origins.set(origin, { seq, seenAt: now, missingFrom: 1, missingTo: seq - 1 });
      if (now - this.lastPrune > ORIGIN_IDLE_MS) this.prune(now);
      return 0;
    }
    state.seenAt = now;
    if (seq > state.seq) {
      const missed = seq - state.seq - 1;
      if (seq - state.seq > this.maxSeqJump) {
        // Too far ahead to be events lost on the way (a forged seq, without `secret`): never let it
        // make the origin's later events look old. Start the origin over; its next event is new.
        this.origins.delete(origin);
      } else {
        if (missed > 0) { state.missingFrom = state.seq + 1; state.missingTo = seq - 1; }
        state.seq = seq;
      }
      return missed;
    }
    if (seq === 1) {
      // The origin restarted with the same instanceId: its sequence starts over.
      state.seq = 1;
      state.missingTo = 0;
      return 0;
    }
    if (seq >= state.missingFrom && seq <= state.missingTo) {
      // An event we never saw: the seq above it was not this origin's (a forged envelope) or came
      // early. Continue from here; what is still missing lies below it.
      state.seq = seq;
      state.missingTo = seq - 1;
      return 0;
    }
    return -1;
  }

  /** Forget every origin: after a reconnect their sequences say nothing across the hole. */
  clear(): void {
    this.origins.clear();
  }

  private prune(now: number): void {
    this.lastPrune = now;
    for (const [origin, state] of this.origins) if (now - state.seenAt > ORIGIN_IDLE_MS) this.origins.delete(origin);
  }
}
