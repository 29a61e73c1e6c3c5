/**
 * One error hierarchy for every botwire module. Each error carries a stable `code` (safe to switch on
 * across versions and to send over HTTP), the key/job/topic it concerns, and a message that says what
 * to do about it.
 *
 * @module
 */

/** Options every {@link BotwireError} accepts. */
export interface BotwireErrorOptions {
  /** The underlying error, kept for logs and debuggers. */
  cause?: unknown;
  /** The session key, job id or topic the error concerns. */
  subject?: string;
}

/**
 * Base class of every error botwire throws on purpose.
 *
 * @example
 * ```ts
 * try { await store.set(key, data, { ifVersion: 3 }); }
 * catch (e) { if (e instanceof BotwireError && e.code === 'SESSION_CONFLICT') retry(); else throw e; }
 * ```
 */
export class BotwireError extends Error {
  /** Stable machine-readable code, e.g. `SESSION_CONFLICT`. */
  readonly code: string;
  /** The session key, job id or topic the error concerns, if any. */
  readonly subject: string | undefined;

  constructor(code: string, message: string, options: BotwireErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.subject = options.subject;
  }
}

/** A compare-and-set write found another version than the one it expected. Reload and retry. */
export class SessionConflictError extends BotwireError {
  /** The version the caller expected (`0` = expected no record). */
  readonly expectedVersion: number;
  /** The version actually stored (`0` = no record), when the backend reports it. */
  readonly actualVersion: number | undefined;

  constructor(key: string, expectedVersion: number, actualVersion?: number) {
    super(
      'SESSION_CONFLICT',
      `Session "${key}" was changed by someone else: expected version ${expectedVersion}` +
        (actualVersion === undefined ? '' : `, found ${actualVersion}`) +
        '. Reload the session and apply your change again, or use leases (acquire/commit) to serialize writers.',
      { subject: key },
    );
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/** Waiting for a session lease took longer than allowed. */
export class SessionLockTimeoutError extends BotwireError {
  constructor(key: string, waitedMs: number) {
    super(
      'SESSION_LOCK_TIMEOUT',
      `Timed out after ${waitedMs} ms waiting for the lease on session "${key}". Another update for this key ` +
        'is still running; raise `waitMs`, or shorten the handlers that hold the lease.',
      { subject: key },
    );
  }
}

/** A lease was used after it expired and (possibly) someone else took it: nothing was written. */
export class SessionLeaseLostError extends BotwireError {
  constructor(key: string) {
    super(
      'SESSION_LEASE_LOST',
      `The lease on session "${key}" expired before commit and nothing was written. ` +
        'Raise `leaseMs` or call `lease.extend()` while a long handler runs.',
      { subject: key },
    );
  }
}

/** Stored bytes for a key could not be decoded. The data is left untouched for inspection. */
export class SessionCorruptError extends BotwireError {
  constructor(key: string, cause?: unknown) {
    super(
      'SESSION_CORRUPT',
      `Stored session "${key}" is not valid JSON and was left untouched. Inspect or delete it ` +
        '(store.delete(key)) — botwire never replaces it with an empty session on its own.',
      { subject: key, cause },
    );
  }
}

/** Why a value cannot be stored: the cause's message, prefixed with the path of the offending part. */
function valueReason(cause: unknown, path: string | undefined): string {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return path === undefined ? reason : `${path}: ${reason}`;
}

/**
 * A value cannot be stored as JSON without changing (BigInt, cycle, function, Map, Set, class
 * instance, NaN …). Nothing was written. `path` names the offending part, e.g. `data.cart.items[3]`.
 */
export class SessionSerializationError extends BotwireError {
  /** Where in the value the problem is, e.g. `data.cart.items[3]`; undefined when unknown. */
  readonly path: string | undefined;

  constructor(key: string, cause?: unknown, path?: string) {
    super(
      'SESSION_SERIALIZATION',
      `Session "${key}" cannot be stored as JSON without changing it (${valueReason(cause, path)}). Keep sessions to ` +
        'plain objects, arrays, strings, finite numbers, booleans, null and Date (stored as an ISO string); ' +
        'convert BigInt/Map/Set/class instances yourself, or pass a `codec` that handles them.',
      { subject: key, cause },
    );
    this.path = path;
  }
}

/** An invalid session key (empty, too long, not a string, NUL or ill-formed Unicode). Nothing was read or written. */
export class SessionKeyError extends BotwireError {
  constructor(key: unknown, reason: string) {
    super(
      'SESSION_KEY',
      `Invalid session key ${typeof key === 'string' ? JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key) : `(${typeof key})`}: ${reason}.`,
      { subject: typeof key === 'string' ? key : undefined },
    );
  }
}

/** A session value is larger than the store's `maxValueBytes`. Nothing was written. */
export class SessionValueTooLargeError extends BotwireError {
  /** Size of the encoded value in UTF-8 bytes. */
  readonly bytes: number;
  /** The configured limit. */
  readonly limit: number;

  constructor(key: string, bytes: number, limit: number) {
    super(
      'SESSION_VALUE_TOO_LARGE',
      `Session "${key}" is ${bytes} bytes encoded, above the store's maxValueBytes (${limit}). Keep sessions small ` +
        '(ids and flags; large data belongs in your own tables), or raise `maxValueBytes`.',
      { subject: key },
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/**
 * What is known about a failed call's effect: `'not-applied'` — it never reached the server (or was
 * a read); `'unknown'` — a write was sent and may have been applied before the answer was lost.
 */
export type BackendOutcome = 'not-applied' | 'unknown';

/**
 * The backend could not be reached, or did not answer within the configured time. Check `outcome`
 * before retrying a write: with `'unknown'` the write may have landed, so retry it only in a form
 * that is safe to apply twice (a session `set` with `ifVersion`, a job `add` with an `id`).
 */
export class BackendUnavailableError extends BotwireError {
  /** Whether a write may have been applied anyway; see {@link BackendOutcome}. */
  readonly outcome: BackendOutcome;

  constructor(backend: string, operation: string, cause?: unknown, subject?: string, outcome: BackendOutcome = 'not-applied') {
    const reason = cause instanceof Error ? cause.message : cause === undefined ? 'no answer' : String(cause);
    super(
      'BACKEND_UNAVAILABLE',
      `${backend} is unavailable during ${operation} (${reason}). ` +
        (outcome === 'unknown'
          ? 'The write may or may not have been applied: re-read before retrying, or retry only in a form that is ' +
            'safe to apply twice (set with ifVersion, add with an id).'
          : 'Nothing was applied: check the connection settings and that the server is up, then retry.'),
      { subject, cause },
    );
    this.outcome = outcome;
  }
}

/**
 * A write was applied on the primary, but fewer replicas than required confirmed it in time (an
 * adapter's opt-in `durability`, e.g. Redis `WAIT`). The outcome is unknown: the write is visible
 * now, but if the primary fails before it replicates, the promoted replica will not have it. Re-read
 * before retrying, or retry only in a form that is safe to apply twice (a session `set` with
 * `ifVersion`, a job `add` with an `id`); check that the replicas are up and in sync.
 */
export class BackendDurabilityError extends BotwireError {
  /** Always `'unknown'`: applied on the primary, not confirmed by enough replicas. */
  readonly outcome: BackendOutcome = 'unknown';
  /** Replicas required. */
  readonly required: number;
  /** Replicas that confirmed within the timeout. */
  readonly confirmed: number;

  constructor(backend: string, operation: string, required: number, confirmed: number, timeoutMs: number, subject?: string, cause?: unknown) {
    super(
      'BACKEND_DURABILITY',
      `${backend} applied ${operation} but only ${confirmed} of ${required} required replicas confirmed it within ` +
        `${timeoutMs} ms, so a failover may lose it. Re-read before retrying (or retry only in a form that is safe to ` +
        'apply twice), and check that the replicas are up and in sync.',
      { subject, cause },
    );
    this.required = required;
    this.confirmed = confirmed;
  }
}

/** The backend refused the operation for lack of rights (e.g. Postgres RLS, Supabase anon key). */
export class BackendForbiddenError extends BotwireError {
  constructor(backend: string, operation: string, cause?: unknown) {
    super(
      'BACKEND_FORBIDDEN',
      `${backend} refused ${operation}: permission denied. Use a role that owns the botwire schema ` +
        '(on Supabase: the service-role key, never the anon key).',
      { cause },
    );
  }
}

/** Configuration passed to a botwire factory is invalid. */
export class BotwireConfigError extends BotwireError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/**
 * The stored schema is missing or older than this version of botwire expects. `detail`, when given,
 * replaces the default advice (run migrate) for schemas that migrate cannot bring up to date.
 */
export class BackendSchemaError extends BotwireError {
  constructor(backend: string, cause?: unknown, detail?: string) {
    super(
      'BACKEND_SCHEMA',
      `${backend}: ` + (detail ?? "botwire's tables or functions are missing or out of date. Run `npx botwire migrate " +
        '--database-url <url>` (or `migrate(client)` from botwire/postgres) once per deploy, not per request.'),
      { cause },
    );
  }
}

/** A sync event payload is larger than the bus or its transport allows. Nothing was delivered or sent. */
export class SyncPayloadTooLargeError extends BotwireError {
  /** Size of the encoded envelope in UTF-8 bytes. */
  readonly bytes: number;
  /** The limit that was exceeded, in bytes. */
  readonly limitBytes: number;

  constructor(topic: string, bytes: number, limitBytes: number, backend?: string) {
    super(
      'SYNC_PAYLOAD_TOO_LARGE',
      `Event "${topic}" is ${bytes} bytes encoded, over the ${limitBytes}-byte limit` +
        (backend ? ` of the ${backend} sync bus` : '') +
        '. Publish an id and let receivers load the record, or raise `maxPayloadBytes` where the backend allows it.',
      { subject: topic },
    );
    this.bytes = bytes;
    this.limitBytes = limitBytes;
  }
}

/** A sync topic or pattern is malformed. */
export class SyncTopicError extends BotwireError {
  constructor(topic: string, reason: string) {
    super(
      'SYNC_TOPIC',
      `Invalid sync topic or pattern "${topic}": ${reason}. Use dot-separated segments of letters, digits, ` +
        "`_`, `-`, `:` (e.g. `buttons.updated`); in patterns `*` = one segment, a trailing `**` or `#` = the rest.",
      { subject: topic },
    );
  }
}

/** A sync event payload cannot be sent as JSON without changing (BigInt, cycle, Map, NaN …). Nothing was delivered. */
export class SyncSerializationError extends BotwireError {
  /** Where in the payload the problem is, e.g. `data.items[3]`; undefined when unknown. */
  readonly path: string | undefined;

  constructor(topic: string, cause?: unknown, path?: string) {
    super(
      'SYNC_SERIALIZATION',
      `Event "${topic}" cannot be sent as JSON without changing it (${valueReason(cause, path)}). Publish plain ` +
        'objects, arrays, strings, finite numbers, booleans, null and Date (sent as an ISO string).',
      { subject: topic, cause },
    );
    this.path = path;
  }
}

/**
 * A received sync envelope was dropped because its signature is missing or wrong (the bus has a
 * `secret`). Reported to `onError` and counted in `stats().rejected`; never thrown to publishers.
 */
export class SyncSignatureError extends BotwireError {
  constructor(backend: string, reason: string) {
    super(
      'SYNC_SIGNATURE',
      `Dropped an event from ${backend}: ${reason}. Every instance must use the same \`secret\`; anything else ` +
        'on the channel is a forgery (anyone who can publish to the broker can send one).',
    );
  }
}

/** A job payload or result cannot be stored as JSON without changing (BigInt, cycle, Map, NaN …). Nothing was stored. */
export class JobSerializationError extends BotwireError {
  /** Where in the value the problem is, e.g. `payload.items[3]`; undefined when unknown. */
  readonly path: string | undefined;

  constructor(name: string, what: 'payload' | 'result', cause?: unknown, path?: string) {
    super(
      'JOB_SERIALIZATION',
      `The ${what} of job "${name}" cannot be stored as JSON without changing it (${valueReason(cause, path)}). Pass ` +
        'plain objects, arrays, strings, finite numbers, booleans, null and Date (stored as an ISO string); ' +
        'convert BigInt/Map/Set yourself and keep large blobs out of jobs.',
      { subject: name, cause },
    );
    this.path = path;
  }
}

/**
 * `add` was given an `id` that already belongs to a job of another name (ids are unique across
 * names). Nothing was stored. Over HTTP: 409.
 */
export class JobConflictError extends BotwireError {
  /** The name of the job that holds the id. */
  readonly existingName: string;

  constructor(id: string, name: string, existingName: string) {
    super(
      'JOB_CONFLICT',
      `Job id "${id}" already belongs to a "${existingName}" job, so it cannot be used for "${name}". ` +
        'Scope idempotency ids by job name, e.g. `report:<chatId>:<period>`.',
      { subject: id },
    );
    this.existingName = existingName;
  }
}

/** A job payload is larger than the queue's `maxPayloadBytes`. Nothing was stored. */
export class JobPayloadTooLargeError extends BotwireError {
  /** Size of the JSON payload in UTF-8 bytes. */
  readonly bytes: number;
  /** The configured limit. */
  readonly limit: number;

  constructor(name: string, bytes: number, limit: number) {
    super(
      'JOB_PAYLOAD_TOO_LARGE',
      `The payload of job "${name}" is ${bytes} bytes of JSON, above the limit of ${limit}. Store the data ` +
        'elsewhere (object storage, a table) and pass its id, or raise `maxPayloadBytes`.',
      { subject: name },
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** `add` or `schedule` named a job that has no handler registered with the queue. */
export class UnknownJobError extends BotwireError {
  constructor(name: string, known: readonly string[]) {
    super(
      'JOB_UNKNOWN',
      `No handler is registered for job "${name}" (known: ${known.length ? known.join(', ') : 'none'}). ` +
        'Check the spelling, or register the handler in the `handlers` option of the queue.',
      { subject: name },
    );
  }
}

/** No job with this id exists (never added, or removed by retention). */
export class JobNotFoundError extends BotwireError {
  constructor(id: string) {
    super(
      'JOB_NOT_FOUND',
      `Job "${id}" does not exist: it was never added or retention already removed it. ` +
        'Check the id, or keep finished jobs longer with `retention`.',
      { subject: id },
    );
  }
}

/** The job is in a state that does not allow the requested change (e.g. retrying a completed job). */
export class JobStateError extends BotwireError {
  /** The state the job was in. */
  readonly state: string;

  constructor(id: string, operation: string, state: string, allowed: readonly string[]) {
    super(
      'JOB_STATE',
      `Cannot ${operation} job "${id}" while it is ${state}; ${operation} works on ${allowed.join('/')} jobs.`,
      { subject: id },
    );
    this.state = state;
  }
}

/** A closed SyncBus (or SyncCache) was used. */
export class SyncBusClosedError extends BotwireError {
  constructor(instanceId: string) {
    super('SYNC_CLOSED', `SyncBus ${instanceId} is closed. Create a new bus; close() is meant for shutdown only.`);
  }
}

/**
 * The sync gateway refused something a client asked for (an `error` frame), or closed the connection
 * with a code that stops reconnecting. `reason` is the protocol's error code (`forbidden`,
 * `too_many_subscriptions`, …) or `close:<code>`.
 */
export class SyncGatewayError extends BotwireError {
  /** The protocol error code (see `SyncErrorCode` in the gateway protocol) or `close:<code>`. */
  readonly reason: string;
  /** The patterns the refusal concerns, when it concerns patterns. */
  readonly patterns: readonly string[];

  constructor(reason: string, message: string, patterns: readonly string[] = []) {
    super(
      'SYNC_GATEWAY',
      `Sync gateway: ${message}` +
        (reason === 'forbidden' ? '. Subscribe only to patterns your `authorize` callback allows for this user.' : ''),
      { subject: patterns[0] },
    );
    this.reason = reason;
    this.patterns = patterns;
  }
}

/** Why {@link InitDataError} refused a Mini App's `initData`. */
export type InitDataFailure = 'malformed' | 'missing_hash' | 'bad_hash' | 'expired';

/**
 * A Telegram Mini App's `initData` did not verify: not signed for this bot, altered, or too old.
 * Answer 401 and let the Mini App send fresh `Telegram.WebApp.initData`.
 */
export class InitDataError extends BotwireError {
  /** What failed. */
  readonly reason: InitDataFailure;

  constructor(reason: InitDataFailure, detail: string) {
    super('INIT_DATA', `Mini App initData refused: ${detail}. Send the raw Telegram.WebApp.initData of a freshly opened Mini App.`);
    this.reason = reason;
  }
}

/**
 * Why a running job's `signal` aborted (its `reason`): the run timed out (`timeout`, recorded as a
 * failed attempt named `JobTimeoutError`), the worker is shutting down (`shutdown`: the job is handed
 * back and runs again), or the job was cancelled or taken over by another worker (`lost`: its
 * outcome is discarded). Handlers see it as `signal.reason`.
 *
 * @example
 * ```ts
 * const handler: JobHandler = async ({ signal }) => {
 *   signal.addEventListener('abort', () => {
 *     if ((signal.reason as JobAbortedError).reason === 'shutdown') saveProgressSomewhere();
 *   });
 * };
 * ```
 */
export class JobAbortedError extends BotwireError {
  /** `timeout`, `shutdown`, or `lost` (cancelled or taken over by another worker). */
  readonly reason: 'timeout' | 'shutdown' | 'lost';

  constructor(reason: 'timeout' | 'shutdown' | 'lost', message: string, jobId?: string) {
    super('JOB_ABORTED', message, { subject: jobId });
    // The name a timed-out run records as its error; `AbortError` is what fetch and friends expect.
    this.name = reason === 'timeout' ? 'JobTimeoutError' : 'AbortError';
    this.reason = reason;
  }
}

/** `semaphore(...).acquire()` found every permit taken for longer than its `waitMs`. */
export class SemaphoreTimeoutError extends BotwireError {
  /** How long it waited, in milliseconds. */
  readonly waitedMs: number;

  constructor(name: string, waitedMs: number) {
    super('SEMAPHORE_TIMEOUT', `All permits of semaphore "${name}" stayed taken for ${waitedMs} ms; try again later or raise waitMs.`, { subject: name });
    this.waitedMs = waitedMs;
  }
}

/**
 * A backend's health check found a problem it can name: `reason` is published as the report's
 * `error` (keep it free of secrets), `details` beside it.
 */
export class BackendHealthError extends BotwireError {
  /** Short publishable reason, e.g. `'migrations missing'`. */
  readonly reason: string;
  /** Details to publish with the reason. */
  readonly details: Record<string, string | number | boolean | null>;

  constructor(backend: string, reason: string, details: Record<string, string | number | boolean | null> = {}, hint = '') {
    super('BACKEND_HEALTH', `${backend} health check: ${reason}.${hint ? ` ${hint}` : ''}`);
    this.reason = reason;
    this.details = details;
  }
}
