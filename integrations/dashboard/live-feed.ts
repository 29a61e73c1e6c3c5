/**
 * The dashboard's view of the bus: one subscription per handler, a ring buffer of recent events
 * (numbered, so a reconnecting stream or a polling page resumes where it stopped), and the
 * Server-Sent Events responses fed from it.
 *
 * @module
 */
import { compilePattern, type TopicMatcher } from '../../src/sync/topic-pattern.js';
import type { SyncBus, SyncEnvelope } from '../../src/sync/types.js';
import type { ProgressWatch } from './progress-watch.js';

/** One buffered event as the page gets it. */
export interface FeedEvent {
  /** Position in this handler's feed (grows by one per event). */
  seq: number;
  topic: string;
  data: unknown;
  /** Epoch ms at the publisher. */
  ts: number;
}

const encoder = new TextEncoder();

/** Recent bus events of one handler, and the streams listening to them. */
export class LiveFeed {
  readonly #bus: Pick<SyncBus, 'subscribe'>;
  readonly #size: number;
  readonly #events: FeedEvent[] = [];
  readonly #listeners = new Set<(e: FeedEvent) => void>();
  #seq = 0;
  #subscribed = false;

  constructor(bus: Pick<SyncBus, 'subscribe'>, size: number) {
    this.#bus = bus;
    this.#size = size;
  }

  /** Subscribe on first use: a handler that nobody opens costs no subscription. */
  start(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    this.#bus.subscribe('**', (e: SyncEnvelope) => {
      const event: FeedEvent = { seq: ++this.#seq, topic: e.topic, data: e.data, ts: e.at };
      this.#events.push(event);
      if (this.#events.length > this.#size) this.#events.shift();
      for (const l of this.#listeners) l(event);
    });
  }

  /** The newest sequence number handed out (0 before the first event). */
  get last(): number {
    return this.#seq;
  }

  /** Buffered events after `seq` that match, oldest first. */
  since(seq: number, match: TopicMatcher): FeedEvent[] {
    return this.#events.filter((e) => e.seq > seq && match(e.topic));
  }

  /** State changes of job `id` still in the buffer, for its timeline. */
  jobEvents(id: string): FeedEvent[] {
    return this.#events.filter((e) => e.topic.startsWith('jobs.') && (e.data as { id?: unknown } | null)?.id === id);
  }

  /**
   * A `text/event-stream` response: first the buffered events after `after`, then live ones, until
   * `maxMs` passes or the client goes away. Each event carries its `seq` as `id`, so the browser's
   * automatic reconnect (`Last-Event-ID`) resumes without gaps while the buffer still holds them.
   * With `progress`, running jobs' progress comes along as `event: progress` (not numbered: only the
   * latest value matters).
   */
  stream(after: number, match: TopicMatcher, maxMs: number, signal: AbortSignal | undefined, progress?: ProgressWatch): Response {
    let cleanup = (): void => undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (e: FeedEvent): void => {
          try {
            controller.enqueue(encoder.encode(`id: ${e.seq}\nevent: bus\ndata: ${JSON.stringify(e)}\n\n`));
          } catch { cleanup(); }
        };
        const listener = (e: FeedEvent): void => { if (match(e.topic)) send(e); };
        // A comment line now and then keeps proxies from closing an idle response.
        const ping = setInterval(() => {
          try { controller.enqueue(encoder.encode(': ping\n\n')); } catch { cleanup(); }
        }, 10_000);
        const end = setTimeout(() => { cleanup(); try { controller.close(); } catch { /* already closed */ } }, maxMs);
        const unwatch = progress?.listen((p) => {
          try { controller.enqueue(encoder.encode(`event: progress\ndata: ${JSON.stringify(p)}\n\n`)); } catch { cleanup(); }
        });
        cleanup = () => {
          unwatch?.();
          clearInterval(ping);
          clearTimeout(end);
          this.#listeners.delete(listener);
          signal?.removeEventListener('abort', cleanup);
        };
        signal?.addEventListener('abort', cleanup);
        controller.enqueue(encoder.encode(`retry: 1000\n: last ${this.#seq}\n\n`));
        for (const e of this.since(after, match)) send(e);
        this.#listeners.add(listener);
      },
      cancel: () => cleanup(),
    });
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store',
        // Tells nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      },
    });
  }
}

/** Compile comma-separated topic patterns (empty: every topic) into one matcher; throws `SyncTopicError`. */
export function patternsMatcher(patterns: readonly string[]): TopicMatcher {
  if (patterns.length === 0) return () => true;
  const compiled = patterns.map((p) => compilePattern(p));
  return (topic) => compiled.some((c) => c.matches(topic));
}
