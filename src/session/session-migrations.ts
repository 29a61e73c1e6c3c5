import { BotwireConfigError } from '../errors.js';

/**
 * Session data migrations: `{ [version]: (old) => new }`. Versions are compared as numbers, so
 * `1 < 1.5 < 2 < 10` (never `parseInt`, which would turn `1.5` into `1`).
 *
 * @example
 * ```ts
 * const migrations = {
 *   1: (old) => ({ count: old.count ?? 0 }),
 *   1.5: (old) => ({ ...old, locale: 'en' }),
 *   2: ({ count, ...rest }) => ({ ...rest, counter: count }),
 * };
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type SessionMigrations = Record<number, (old: any) => unknown>;

/** Stored shape when migrations are configured: the data plus the version it conforms to. */
interface Envelope { $v: number; $d: unknown }

/** Migrations checked and sorted once, at middleware creation. */
export interface MigrationPlan {
  /** The highest version: what fresh and migrated data is stamped with. */
  latest: number;
  steps: ReadonlyArray<{ version: number; run: (old: unknown) => unknown }>;
}

/** Validate and sort migrations numerically; throws {@link BotwireConfigError} on a bad version. */
export function planMigrations(migrations: SessionMigrations | undefined): MigrationPlan | undefined {
  if (!migrations) return undefined;
  const steps = Object.entries(migrations).map(([name, run]) => {
    const version = Number(name);
    if (!Number.isFinite(version)) {
      throw new BotwireConfigError(`Session migration key "${name}" is not a finite number; use keys like 1, 1.5, 2.`);
    }
    if (typeof run !== 'function') {
      throw new BotwireConfigError(`Session migration ${name} must be a function (old) => new.`);
    }
    return { version, run: run as (old: unknown) => unknown };
  });
  if (steps.length === 0) return undefined;
  steps.sort((a, b) => a.version - b.version);
  return { latest: steps[steps.length - 1]!.version, steps };
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    && typeof (value as Envelope).$v === 'number' && '$d' in value && Object.keys(value).length === 2;
}

/**
 * Turn a stored value into session data at the latest version, running every migration newer than
 * the stored version exactly once, in numeric order. Data stored before migrations were configured
 * (no envelope) gets all of them. Data from a newer deployment is left as it is.
 */
export function applyMigrations(plan: MigrationPlan | undefined, stored: unknown): { data: unknown; version: number | undefined } {
  if (!plan) return { data: stored, version: undefined };
  let version = -Infinity;
  let data = stored;
  if (isEnvelope(stored)) {
    version = stored.$v;
    data = stored.$d;
  }
  for (const step of plan.steps) {
    if (step.version > version) {
      data = step.run(data);
      version = step.version;
    }
  }
  return { data, version };
}

/** The value to store for `data` at `version` (the data itself when there are no migrations). */
export function wrapForStorage(plan: MigrationPlan | undefined, data: unknown, version: number | undefined): unknown {
  if (!plan) return data;
  return { $v: version ?? plan.latest, $d: data } satisfies Envelope;
}
