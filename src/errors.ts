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

/** A value could not be turned into JSON (BigInt, cycle, function …). Nothing was written. */
export class SessionSerializationError extends BotwireError {
  constructor(key: string, cause?: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'SESSION_SERIALIZATION',
      `Session "${key}" cannot be stored as JSON (${reason}). Keep sessions to plain objects, arrays, ` +
        'strings, finite numbers, booleans and null; convert BigInt/Date/Map yourself.',
      { subject: key, cause },
    );
  }
}

/** The backend could not be reached, or did not answer within the configured time. */
export class BackendUnavailableError extends BotwireError {
  constructor(backend: string, operation: string, cause?: unknown, subject?: string) {
    const reason = cause instanceof Error ? cause.message : cause === undefined ? 'no answer' : String(cause);
    super(
      'BACKEND_UNAVAILABLE',
      `${backend} is unavailable during ${operation} (${reason}). Nothing was assumed: check the connection ` +
        'settings and that the server is up; the operation may be retried.',
      { subject, cause },
    );
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

/** The stored schema is missing or older than this version of botwire expects. */
export class BackendSchemaError extends BotwireError {
  constructor(backend: string, cause?: unknown) {
    super(
      'BACKEND_SCHEMA',
      `${backend}: botwire's tables or functions are missing or out of date. Run \`npx botwire migrate ` +
        '--database-url <url>` (or `migrate(client)` from botwire/postgres) once per deploy, not per request.',
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

/** A sync event payload cannot be turned into JSON (BigInt, cycle, function …). Nothing was delivered. */
export class SyncSerializationError extends BotwireError {
  constructor(topic: string, cause?: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'SYNC_SERIALIZATION',
      `Event "${topic}" cannot be sent as JSON (${reason}). Publish plain objects, arrays, strings, finite ` +
        'numbers, booleans and null.',
      { subject: topic, cause },
    );
  }
}

/** A job payload or result could not be turned into JSON (BigInt, cycle, function …). Nothing was stored. */
export class JobSerializationError extends BotwireError {
  constructor(name: string, what: 'payload' | 'result', cause?: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      'JOB_SERIALIZATION',
      `The ${what} of job "${name}" cannot be stored as JSON (${reason}). Pass plain objects, arrays, strings, ` +
        'finite numbers, booleans and null; convert BigInt/Date/Map yourself and keep large blobs out of jobs.',
      { subject: name, cause },
    );
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
