/**
 * Which handlers an event reaches. Exact subscriptions are looked up by topic; wildcard ones are
 * tested with their compiled matcher; the de-duplicated handler list per topic is cached until the
 * set of subscriptions changes, so the steady-state dispatch does no matching and no allocation.
 *
 * @module
 */
import { compilePattern, type TopicMatcher } from './topic-pattern.js';

/** A handler as the index stores it (the bus narrows the event type at its public edge). */
export type AnyHandler = (event: never) => unknown;

interface Subscription {
  readonly handler: AnyHandler;
  readonly matches: TopicMatcher;
  active: boolean;
}

const EMPTY: readonly AnyHandler[] = Object.freeze([]);
/** Bound on remembered topics, so a stream of unique topics cannot grow the cache without limit. */
const MAX_CACHED_TOPICS = 4096;

/** Subscriptions of one bus. */
export class SubscriptionIndex {
  private readonly exact = new Map<string, Subscription[]>();
  private wildcard: Subscription[] = [];
  private cache = new Map<string, readonly AnyHandler[]>();
  private count = 0;

  /** Number of live subscriptions. */
  get size(): number {
    return this.count;
  }

  /** Add a subscription; returns its idempotent remover. Throws `SyncTopicError` for a bad pattern. */
  add(pattern: string, handler: AnyHandler): () => void {
    const compiled = compilePattern(pattern);
    const sub: Subscription = { handler, matches: compiled.matches, active: true };
    if (compiled.exact !== undefined) {
      const list = this.exact.get(compiled.exact);
      if (list) list.push(sub);
      else this.exact.set(compiled.exact, [sub]);
    } else {
      this.wildcard = [...this.wildcard, sub];
    }
    this.count++;
    this.cache.clear();
    return () => {
      if (!sub.active) return;
      sub.active = false;
      this.count--;
      this.cache.clear();
      if (compiled.exact !== undefined) {
        const list = this.exact.get(compiled.exact);
        const rest = list?.filter((s) => s !== sub) ?? [];
        if (rest.length) this.exact.set(compiled.exact, rest);
        else this.exact.delete(compiled.exact);
      } else {
        this.wildcard = this.wildcard.filter((s) => s !== sub);
      }
    };
  }

  /** The distinct handlers whose patterns match `topic`, each once. Do not mutate the result. */
  handlersFor(topic: string): readonly AnyHandler[] {
    const cached = this.cache.get(topic);
    if (cached) return cached;
    const found: AnyHandler[] = [];
    const seen = new Set<AnyHandler>();
    const exact = this.exact.get(topic);
    if (exact) {
      for (const sub of exact) if (!seen.has(sub.handler)) { seen.add(sub.handler); found.push(sub.handler); }
    }
    for (const sub of this.wildcard) {
      if (!seen.has(sub.handler) && sub.matches(topic)) { seen.add(sub.handler); found.push(sub.handler); }
    }
    const result = found.length ? found : EMPTY;
    if (this.cache.size >= MAX_CACHED_TOPICS) this.cache.clear();
    this.cache.set(topic, result);
    return result;
  }

  /** Drop every subscription. */
  clear(): void {
    this.exact.clear();
    this.wildcard = [];
    this.cache.clear();
    this.count = 0;
  }
}
