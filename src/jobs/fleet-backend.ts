/**
 * The fleet part of the {@link JobBackend} contract: limits per job name, fair groups, bulk add,
 * counts and debounce. Every rule here is enforced by the backend, inside the primitive named
 * (one Lua script, one SQL function call), because only there do all instances meet. A backend
 * lists what it implements in `JobBackend.features`; the core refuses with `BotwireConfigError` to
 * use a feature a backend does not list (`addMany` alone falls back to one `add` per job).
 *
 * Words used below:
 * - *due*: a job in a runnable state (`waiting`, `delayed`, `partial`) with `runAt <= now`.
 * - *live*: a job in state `active` whose `leaseUntil >= now` (the `now` of the call). A lapsed lease
 *   (`leaseUntil < now`) is not live even before `reclaim` takes it over, so a crashed worker's job
 *   stops holding a slot when its lease lapses. (A late worker that renews a lapsed lease with a
 *   heartbeat makes its job live again; a limit may be exceeded by such runs for that moment.)
 * - *unfinished*: a job in `waiting`, `delayed`, `partial` or `active`.
 *
 * ## `'limits'` — concurrency and rate per job name
 * - The backend stores at most one {@link JobLimit} per job name, shared by every instance on the
 *   same storage (`setLimits`/`getLimits`). The core validates values before they arrive.
 * - Concurrency: a claim takes a job of name N only while fewer than `concurrency` jobs of N are
 *   live, counting the jobs it took itself earlier in the same call.
 * - Rate: each job of N a claim takes while N has a `rate` is recorded as a start of N at the
 *   claim's `now`. A claim takes a job of N only while fewer than `rate.max` recorded starts of N
 *   have `at > now - rate.perMs` (a sliding window; again counting its own earlier picks). Starts
 *   are recorded only while N has a rate; they are kept when the limit changes (also when it is
 *   removed and set again) and are not refunded when a job is released or handed back. Starts
 *   outside the window (`at <= now - perMs`) may be forgotten, so a window made longer later may
 *   count fewer starts than it covers.
 * - A claim made ahead (`WorkerClaim.ahead`: jobs that wait in a worker's memory before they
 *   start) takes no job of a name that has a `rate`, so a recorded start is never earlier than the
 *   real one. Concurrency-limited names may be claimed ahead (such jobs are live and hold a slot).
 * - A job held back by a limit is left exactly as it was: still due, no attempt counted, no state
 *   change, its place in line kept. The claim goes on with the next jobs in order (other names).
 * - Hint: a claim that returns fewer than `limit` jobs while it passed over at least one due job
 *   it could otherwise have taken (name in `names`, timeout fitting) because of a limit or a group
 *   cap sets `heldBack: true` on its result (`ClaimedJobs`, `WorkerBatchResult`); it may also set
 *   it when the jobs passed over would not have fitted `maxTimeoutMs` (a false hint costs the
 *   caller one more claim; a missing one, a poll interval). A claim without `groupConcurrency`
 *   does not count grouped jobs as held back (it never takes them). When some of
 *   those jobs were held back by a rate window alone (their name had room under its concurrency;
 *   `maxTimeoutMs` may be ignored here too), it also sets `retryAt`: the earliest time, over those
 *   names, at which fewer than `rate.max` recorded starts remain in the window — with the
 *   in-window starts sorted, `starts[count - max] + perMs` (0-based; `starts[0] + perMs` when
 *   `count = max`).
 * - Wake-ups (backends with `subscribe`): a call in which a job of a name with a `concurrency`
 *   limit stops being live (complete, partial, fail, release, hand-back, cancel) wakes that name
 *   when, at the end of the call, the name has a due job and fewer live jobs than its concurrency.
 *   `setLimits` wakes each name it wrote or removed that has a due job. Nothing wakes at a lease
 *   lapse or a rate window opening: workers poll, and use `retryAt`.
 *
 * ## `'groups'` — fair shares per group (e.g. a chat id)
 * - `add`/`addMany` store `NewJob.group` as `StoredJob.group` (absent = no group).
 * - A claim without `ClaimArgs.groupConcurrency` takes only jobs without a group, in the order it
 *   always did, and changes no rotation state. With it, every rule below applies.
 * - Cap: a claim takes a job of group G only while fewer than `groupConcurrency` jobs of G are
 *   live (counting its own earlier picks). Jobs without a group have no cap.
 * - Lanes: due jobs wait in lanes — one per group, plus one lane for all jobs without a group.
 *   The backend keeps one integer counter that only grows, and a `turn` per lane:
 *   - A group's lane exists while the group has unfinished jobs. It is created with
 *     `turn = ++counter` (at the tail of the rotation) when a job of the group becomes unfinished
 *     while the group has none (add, addMany, a debounce replace moving a job into the group, retry
 *     of a finished job), and forgotten when the group's last unfinished job finishes, is cancelled
 *     or is moved to another group by a debounce replace. A group that comes back joins at the tail.
 *   - The lane without a group always exists; its `turn` starts at 0.
 *   - Whenever a claim takes a job, that job's lane gets `turn = ++counter` (served: to the tail).
 * - A claim with `groupConcurrency` picks one job at a time, up to `limit`: among the lanes that
 *   hold an eligible job — due, name in `names`, `timeoutMs <= maxTimeoutMs`, its name not held by
 *   a limit, and (group lanes) its group below the cap — it takes from the lane with the lowest
 *   `turn` that lane's first eligible job in claim order (priority, then runAt, then insertion),
 *   updates the lane's turn, and picks again. So groups are served round-robin, least recently
 *   served first; the jobs without a group are served as one more group with no cap; priorities
 *   order jobs inside a lane only.
 * - Wake-ups: a call in which a grouped job stops being live (complete, partial, fail, release,
 *   hand-back, cancel) wakes, when at the end of the call its group has a due job, the name of that
 *   group's first due job in claim order (or every name with due jobs in the group). The backend
 *   does not know the cap (it comes with each claim), so it wakes whether or not the group is full.
 * - A claim may stop after inspecting 1,000 jobs and lanes in all (as without groups); what it did
 *   not take keeps its turn and place.
 *
 * ## `'debounce'` — replace the job that has not started yet
 * `NewJob.debounce` is a caller's key, scoped by job name. With it, `add` (and each job of
 * `addMany`) first looks at D, the job most recently created with the same name and debounce id
 * (if it still exists). If D is `waiting` or `delayed` with `attempts = 0` (it never ran), D is
 * updated in place instead of creating a job: `payload`, `priority`, `runAt`, `maxAttempts`,
 * `backoff`, `timeoutMs`, `retryUntil` and `group` from the new job; state `waiting` when
 * `runAt <= now`, else `delayed`; `updatedAt = now`; its id, `createdAt` and insertion order stay.
 * The answer is `{ job: D as updated, created: false, replaced: true }` (waking D's name when it is
 * due now). Otherwise (no such job, or it is active, partial, retried after a run, or finished)
 * the job is created as by a plain `add` under `job.id`, and becomes the one most recently created
 * under its key. So ids stay unique, and a job that ran keeps its history.
 *
 * ## `'addMany'` and `'counts'`
 * See {@link JobBackend.addMany} and {@link JobBackend.counts}.
 *
 * @module
 */

/** A fleet feature a job backend may implement; see the module comment for each one's rules. */
export type JobFeature = 'limits' | 'groups' | 'debounce' | 'addMany' | 'counts';

/**
 * A limit on one job name, enforced fleet-wide at claim time. Give `concurrency`, `rate` or both.
 *
 * @example
 * ```ts
 * const limit: JobLimit = { concurrency: 3, rate: { max: 60, perMs: 60_000 } };
 * ```
 */
export interface JobLimit {
  /** Most jobs of the name running at once across all workers (an integer ≥ 1). */
  concurrency?: number | undefined;
  /** Most starts of the name within any sliding window of `perMs` milliseconds (`max` ≥ 1). */
  rate?: { max: number; perMs: number } | undefined;
}

/** One name's limit as `setLimits` writes it (`null`: remove) and `getLimits` returns it. */
export interface JobLimitEntry {
  name: string;
  limit: JobLimit | null;
}

/**
 * How many jobs are in each state. `waiting` includes `delayed` jobs whose time has come (as `get`
 * shows them); `delayed` counts only those still in the future.
 */
export interface JobCounts {
  waiting: number;
  delayed: number;
  active: number;
  partial: number;
  completed: number;
  failed: number;
  cancelled: number;
}
