import { BotwireConfigError } from '../errors.js';
import { intInRange, positiveMs } from '../internal/validate.js';
import { assertJobName } from './codec.js';
import type { JobLimit, JobLimitEntry } from './fleet-backend.js';

/**
 * A limit as the backend stores it: validated, with exactly the fields given, so every backend
 * stores the same thing. `null` stays `null` (remove).
 */
export function validateLimit(name: string, limit: JobLimit | null): JobLimit | null {
  assertJobName(name);
  if (limit === null) return null;
  if (typeof limit !== 'object' || (limit.concurrency === undefined && limit.rate === undefined)) {
    throw new BotwireConfigError(`The limit of "${name}" needs \`concurrency\` and/or \`rate\` (or null to remove it).`);
  }
  const out: JobLimit = {};
  if (limit.concurrency !== undefined) out.concurrency = intInRange(`limits.${name}.concurrency`, limit.concurrency, 1, 1_000_000);
  if (limit.rate !== undefined) {
    const rate = limit.rate as { max?: unknown; perMs?: unknown } | null;
    if (typeof rate !== 'object' || rate === null) throw new BotwireConfigError(`limits.${name}.rate must be { max, perMs }.`);
    out.rate = {
      max: intInRange(`limits.${name}.rate.max`, rate.max, 1, 1_000_000),
      perMs: positiveMs(`limits.${name}.rate.perMs`, rate.perMs),
    };
  }
  return out;
}

/** `JobQueueOptions.limits` as entries to write, validated. */
export function limitEntries(limits: Record<string, JobLimit> | undefined): JobLimitEntry[] {
  if (limits === undefined) return [];
  if (typeof limits !== 'object' || limits === null) throw new BotwireConfigError('limits must be an object of { [jobName]: { concurrency?, rate? } }.');
  return Object.entries(limits).map(([name, limit]) => ({ name, limit: validateLimit(name, limit) }));
}
