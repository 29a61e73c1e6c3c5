/**
 * Lifecycle notices: what `shutdown()` and a `Worker` report through `onLifecycle`, so an app can
 * tell its admins (a Telegram message, a log line, a metric) when an instance starts and stops.
 * botwire sends nothing anywhere itself.
 *
 * @module
 */

/** One step of a shutdown, as reported in `shutdown.finished`. */
export interface ShutdownStepReport {
  /** `intake` (stop claiming/accepting), `drain` (running work), `flush`, `close-transports`, `close-stores`, `close-resources`. */
  step: string;
  /** Wall time of the step in milliseconds. */
  durationMs: number;
  /** False when a participant failed or did not finish within the step's bound. */
  ok: boolean;
  /** Publishable reasons of what failed (`'timed out'`, an error's name), one per failing participant. */
  errors: string[];
}

/** A worker began claiming jobs (after its first look at the queue). */
export interface WorkerStartedEvent {
  /** Discriminant. */
  type: 'worker.started';
  /** When it happened. */
  at: Date;
  /** Random id of this worker object. */
  workerId: string;
  /** Job names the worker runs. */
  names: string[];
  /** Jobs it runs at the same time. */
  concurrency: number;
}

/** A worker finished stopping: nothing of its runs is left in flight. */
export interface WorkerStoppedEvent {
  /** Discriminant. */
  type: 'worker.stopped';
  /** When it happened. */
  at: Date;
  /** Random id of this worker object (the one `worker.started` carried). */
  workerId: string;
  /** Jobs handed back to the queue because they did not finish within `graceMs`. */
  handedBack: number;
}

/** `shutdown()` began (after a signal when `signals` were given). */
export interface ShutdownStartedEvent {
  /** Discriminant. */
  type: 'shutdown.started';
  /** When it happened. */
  at: Date;
  /** The signal that started it, e.g. `'SIGTERM'`; absent when called directly. */
  signal?: string;
  /** Time running work gets to finish. */
  graceMs: number;
}

/** `shutdown()` is done: everything given to it was stopped and closed (or gave up within its bound). */
export interface ShutdownFinishedEvent {
  /** Discriminant. */
  type: 'shutdown.finished';
  /** When it happened. */
  at: Date;
  /** The signal that started it, e.g. `'SIGTERM'`; absent when called directly. */
  signal?: string;
  /** Wall time of the whole shutdown. */
  durationMs: number;
  /** True when every step finished cleanly within its bound. */
  ok: boolean;
  /** The steps in order. */
  steps: ShutdownStepReport[];
}

/** Everything `onLifecycle` may receive. */
export type LifecycleEvent = WorkerStartedEvent | WorkerStoppedEvent | ShutdownStartedEvent | ShutdownFinishedEvent;

/**
 * Receives lifecycle notices. May be async: `shutdown()` waits for it (bounded by its
 * `stepTimeoutMs`) so a notice can still go out before the process exits; a throw is ignored.
 *
 * @example
 * ```ts
 * const onLifecycle: LifecycleListener = async (event) => {
 *   if (event.type === 'shutdown.started') await bot.api.sendMessage(ADMIN_CHAT, `Stopping (${event.signal ?? 'deploy'})`);
 * };
 * ```
 */
export type LifecycleListener = (event: LifecycleEvent) => void | Promise<void>;

/** Call `listener` with `event`, bounded by `timeoutMs`; never throws or rejects. @internal */
export async function notify(listener: LifecycleListener | undefined, event: LifecycleEvent, timeoutMs: number): Promise<void> {
  if (!listener) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => listener(event)),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); }),
    ]);
  } catch {
    // A failing notice must never stop a worker from starting or a process from shutting down.
  } finally {
    clearTimeout(timer);
  }
}
