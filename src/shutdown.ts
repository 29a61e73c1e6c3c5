/**
 * Graceful shutdown in the one order that loses nothing: stop intake everywhere first (workers stop
 * claiming, gateways stop accepting), let running work finish within `graceMs`, flush pending
 * writes, then close transports (gateways, buses), then stores and queues, then anything else —
 * each step bounded, so a hung connection cannot keep a deploy waiting.
 *
 * Edge-safe: signal wiring uses `globalThis.process` when it exists and is skipped elsewhere.
 *
 * @module
 */
import { BotwireConfigError } from './errors.js';
import { notify, type LifecycleListener, type ShutdownStepReport } from './lifecycle.js';

/**
 * What `shutdown()` accepts: any object with some of these methods. `Worker`, the sync gateway,
 * `SyncBus`, `SessionStore`, `JobQueue` and `RateLimitStore` fit as they are; wrap anything else,
 * e.g. `{ close: () => pool.end() }` (closed last).
 */
export interface ShutdownTarget {
  /**
   * Where `close()` happens: `'transport'` (gateways, buses: closed first), `'store'` (stores and
   * queues), anything else or absent: last, in the order given (pools, clients, servers).
   */
  readonly shutdownStage?: string;
  /** Stop taking new work now (synchronous part; a returned promise is awaited in the intake step). */
  stopIntake?(): void | Promise<void>;
  /** Let running work finish for up to `graceMs`, then hand the rest back (a `Worker`'s `stop`). */
  stop?(options: { graceMs: number }): Promise<void>;
  /** Write out what is still buffered. */
  flush?(): Promise<void>;
  /** Release connections. */
  close?(): Promise<void>;
}

/** Options of {@link shutdown}. */
export interface ShutdownOptions {
  /**
   * How long running jobs may take to finish before they are aborted and handed back to the queue
   * (not counted as an attempt).
   * @default 10_000
   */
  graceMs?: number;
  /**
   * Upper bound of every other step (intake, flush, each close stage, each lifecycle notice).
   * @default 5_000
   */
  stepTimeoutMs?: number;
  /**
   * Wait for one of these process signals first, then shut down and exit (Node, Bun, Deno's
   * `process`): `['SIGTERM', 'SIGINT']` for containers and Ctrl-C. Ignored where there is no
   * `process`. A second signal while shutting down exits at once with code 1.
   */
  signals?: readonly string[];
  /**
   * After a signal-started shutdown: call `process.exit` (0 when every step was clean, else 1), so
   * timers and sockets of other libraries cannot keep the process alive.
   * @default true
   */
  exit?: boolean;
  /** Lifecycle notices: `shutdown.started`, `shutdown.finished` (awaited, bounded by `stepTimeoutMs`). */
  onLifecycle?: LifecycleListener;
}

/** What a finished shutdown reports (also sent as `shutdown.finished`). */
export interface ShutdownResult {
  /** True when every step finished cleanly within its bound. */
  ok: boolean;
  /** Wall time in milliseconds. */
  durationMs: number;
  /** The steps in order. */
  steps: ShutdownStepReport[];
  /** The signal that started it, if any. */
  signal?: string;
}

interface SignalProcess {
  once(signal: string, listener: (signal: string) => void): unknown;
  off?(signal: string, listener: (signal: string) => void): unknown;
  exit(code?: number): never;
}

const TIMED_OUT = Symbol('timed out');

function reasonOf(err: unknown): string {
  return err === TIMED_OUT ? 'timed out' : err instanceof Error ? err.name : 'failed';
}

/** Run `work` for every target concurrently, each bounded by `timeoutMs`; report the step. */
async function step(name: string, targets: readonly ShutdownTarget[], timeoutMs: number, work: (t: ShutdownTarget) => unknown): Promise<ShutdownStepReport> {
  const started = performance.now();
  const errors: string[] = [];
  await Promise.all(targets.map(async (target) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => work(target)),
        new Promise((_, reject) => { timer = setTimeout(() => reject(TIMED_OUT), timeoutMs); }),
      ]);
    } catch (err) {
      errors.push(reasonOf(err));
    } finally {
      clearTimeout(timer);
    }
  }));
  return { step: name, durationMs: Math.round(performance.now() - started), ok: errors.length === 0, errors };
}

function bound(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(Number.isFinite(v) && v >= 0)) throw new BotwireConfigError(`shutdown: \`${name}\` must be a number of milliseconds >= 0, got ${String(value)}.`);
  return v;
}

async function run(targets: readonly ShutdownTarget[], options: ShutdownOptions, signal: string | undefined): Promise<ShutdownResult> {
  const graceMs = bound('graceMs', options.graceMs, 10_000);
  const stepMs = bound('stepTimeoutMs', options.stepTimeoutMs, 5_000);
  const started = performance.now();
  const base = signal === undefined ? {} : { signal };
  await notify(options.onLifecycle, { type: 'shutdown.started', at: new Date(), graceMs, ...base }, stepMs);
  const has = (m: keyof ShutdownTarget) => targets.filter((t) => typeof t[m] === 'function');
  const closing = has('close');
  const stage = (t: ShutdownTarget) => (t.shutdownStage === 'transport' || t.shutdownStage === 'store' ? t.shutdownStage : 'resource');
  const steps: ShutdownStepReport[] = [];
  steps.push(await step('intake', has('stopIntake'), stepMs, (t) => t.stopIntake!()));
  // A worker's stop() ends its loop (a claim in flight is bounded by the queue's operationTimeoutMs),
  // waits graceMs for running jobs, then hands the rest back: allow both, plus the step bound.
  steps.push(await step('drain', has('stop'), graceMs + stepMs, (t) => t.stop!({ graceMs })));
  steps.push(await step('flush', has('flush'), stepMs, (t) => t.flush!()));
  steps.push(await step('close-transports', closing.filter((t) => stage(t) === 'transport'), stepMs, (t) => t.close!()));
  steps.push(await step('close-stores', closing.filter((t) => stage(t) === 'store'), stepMs, (t) => t.close!()));
  const rest = closing.filter((t) => stage(t) === 'resource');
  const restReport: ShutdownStepReport = { step: 'close-resources', durationMs: 0, ok: true, errors: [] };
  for (const t of rest) {
    // In the order given: a pool is usually listed after what used it.
    const r = await step('close-resources', [t], stepMs, (x) => x.close!());
    restReport.durationMs += r.durationMs;
    restReport.errors.push(...r.errors);
  }
  restReport.ok = restReport.errors.length === 0;
  steps.push(restReport);
  const result: ShutdownResult = { ok: steps.every((s) => s.ok), durationMs: Math.round(performance.now() - started), steps, ...base };
  await notify(options.onLifecycle, { type: 'shutdown.finished', at: new Date(), ...result }, stepMs);
  return result;
}

/**
 * Stop everything given, in order: intake (`stopIntake`: workers stop claiming, gateways refuse new
 * connections), drain (`stop({ graceMs })`: running jobs finish or are handed back uncounted),
 * flush (`flush`: the bus's last sends), then `close()` of transports, of stores and queues, and of
 * anything else — each step bounded (`stepTimeoutMs`), failures reported and never thrown.
 *
 * Without `signals` it runs now. With `signals` it waits for the first of them, runs, and (unless
 * `exit: false`) exits the process with 0 when every step was clean.
 *
 * @example
 * ```ts
 * // Node entry point: SIGTERM from the orchestrator (or Ctrl-C) stops the worker gracefully.
 * void shutdown([worker, gateway, bus, queue, store, { close: () => pool.end() }], {
 *   graceMs: 20_000, signals: ['SIGTERM', 'SIGINT'],
 *   onLifecycle: (e) => console.log(e.type),
 * });
 * ```
 */
export function shutdown(targets: readonly ShutdownTarget[], options: ShutdownOptions = {}): Promise<ShutdownResult> {
  if (!Array.isArray(targets) || targets.some((t) => typeof t !== 'object' || t === null)) {
    throw new BotwireConfigError('shutdown takes an array of objects to stop (workers, gateways, buses, queues, stores).');
  }
  bound('graceMs', options.graceMs, 10_000);
  bound('stepTimeoutMs', options.stepTimeoutMs, 5_000);
  const signals = options.signals ?? [];
  const proc = (globalThis as { process?: SignalProcess }).process;
  if (signals.length === 0 || typeof proc?.once !== 'function') return run(targets, options, undefined);
  return new Promise<ShutdownResult>((resolve) => {
    let running = false;
    const onSignal = (sig: string): void => {
      if (running) return proc.exit(1); // second signal: the operator insists
      running = true;
      // Listen again so a second signal reaches us instead of the runtime's default (immediate exit).
      for (const s of signals) { proc.off?.(s, onSignal); proc.once(s, onSignal); }
      void run(targets, options, sig).then((result) => {
        resolve(result);
        if (options.exit ?? true) proc.exit(result.ok ? 0 : 1);
      });
    };
    for (const s of signals) proc.once(s, onSignal);
  });
}
