/**
 * Health reports: what `health()` of a store, queue, bus or gateway answers, and the bounded,
 * secret-free probe every one of them runs. A health check is one round trip (Redis `PING`, a
 * Postgres `select` of the schema version, an RPC), bounded in time, and never throws: a failure is
 * a report with `ok: false` and a short reason fit for a public `/health` page.
 *
 * @module
 */
import { BackendForbiddenError, BackendHealthError, BackendSchemaError, BackendUnavailableError } from './errors.js';
import { callBackend, type BackendInfo } from './adapter-kit/backend-call.js';

/** Details of a report: plain JSON values only (they are served by `/health`). */
export type HealthDetails = Record<string, string | number | boolean | null>;


/**
 * The answer of a `health()` call. `error` is a short reason safe to publish (no connection
 * strings, hosts, passwords): `'timed out'`, `'unavailable'`, `'forbidden'`, `'migrations missing'`,
 * `'migrations behind'`, or `'failed'` for anything else.
 */
export interface HealthReport {
  /** True when the component can do its work right now. */
  ok: boolean;
  /** What was checked, e.g. `"Redis"`, `"Postgres"`, `"memory"`, `"sync gateway"`. */
  backend: string;
  /** Wall time of the check in milliseconds (one round trip for backends). */
  latencyMs: number;
  /** What the check found: schema versions, connection state, connection counts. */
  details: HealthDetails;
  /** Why `ok` is false; absent when it is true. */
  error?: string;
}

/** Anything with a `health()` method: stores, queues, buses, gateways, or your own checks. */
export interface HealthCheckable {
  /** One bounded check that never rejects. */
  health(): Promise<HealthReport>;
}

/**
 * What a backend's optional `health()` resolves with: the details it found. It throws (or rejects)
 * when the backend cannot do its work; {@link BackendHealthError} carries a publishable reason,
 * other errors are classified like any call (`classifyError`).
 */
export interface BackendHealth {
  /** What the check found, e.g. `{ schemaVersion: 4, expectedVersion: 4 }`. */
  details?: HealthDetails;
}

/** A publishable reason for a failed check; never the driver's message (it may quote hosts or users). */
export function healthReason(err: unknown): string {
  if (err instanceof BackendHealthError) return err.reason;
  if (err instanceof BackendUnavailableError) return /no answer within/.test(String((err.cause as Error | undefined)?.message)) ? 'timed out' : 'unavailable';
  if (err instanceof BackendForbiddenError) return 'forbidden';
  if (err instanceof BackendSchemaError) return 'migrations missing';
  return 'failed';
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/**
 * Run one health probe of `backend` bounded by `timeoutMs`, and turn its outcome into a
 * {@link HealthReport} that never rejects. Used by every built-in `health()`; call it from a
 * component of your own.
 *
 * @param probe one round trip; resolves with details, throws when unhealthy
 * @example
 * ```ts
 * const report = await probeHealth({ name: 'Redis' }, 2_000, async () => { await client.ping(); return {}; });
 * ```
 */
export async function probeHealth(
  backend: BackendInfo,
  timeoutMs: number,
  probe: () => Promise<BackendHealth | void>,
  extra: HealthDetails = {},
): Promise<HealthReport> {
  const started = performance.now();
  try {
    const found = await callBackend(backend, 'health', timeoutMs, async () => (await probe()) ?? {});
    return { ok: true, backend: backend.name, latencyMs: round(performance.now() - started), details: { ...extra, ...found.details } };
  } catch (err) {
    const details = err instanceof BackendHealthError ? { ...extra, ...err.details } : { ...extra };
    return { ok: false, backend: backend.name, latencyMs: round(performance.now() - started), details, error: healthReason(err) };
  }
}

/**
 * Bound any {@link HealthCheckable} by `timeoutMs`: a check that does not answer in time, or throws,
 * reports `ok: false` (`'timed out'` / `'failed'`) instead of hanging or rejecting.
 */
export function boundedHealth(target: HealthCheckable, timeoutMs: number, name = 'check'): Promise<HealthReport> {
  const started = performance.now();
  const failed = (error: string): HealthReport => ({ ok: false, backend: name, latencyMs: round(performance.now() - started), details: {}, error });
  return new Promise<HealthReport>((resolve) => {
    const timer = setTimeout(() => resolve(failed('timed out')), timeoutMs);
    let running: Promise<HealthReport>;
    try {
      running = Promise.resolve(target.health());
    } catch {
      running = Promise.resolve(failed('failed'));
    }
    running.then(
      (report) => { clearTimeout(timer); resolve(isReport(report) ? report : failed('failed')); },
      () => { clearTimeout(timer); resolve(failed('failed')); },
    );
  });
}

function isReport(value: unknown): value is HealthReport {
  const v = value as Partial<HealthReport> | null;
  return typeof v === 'object' && v !== null && typeof v.ok === 'boolean';
}
