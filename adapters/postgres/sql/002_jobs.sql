-- 002_jobs: the JobQueue tables and one function per JobBackend primitive (src/jobs/backend.ts).
--
-- Same conventions as 001_sessions (RLS without policies, SECURITY INVOKER, no SET search_path,
-- p_* named arguments for Supabase rpc, a lockdown block at the end), with one deliberate difference:
-- every function takes the caller's clock as p_now (epoch ms). The JobQueue core is the single time
-- source on every backend (memory, Redis, Postgres), which is what lets tests inject a clock for
-- delays, backoff and leases.
--
-- Times are epoch milliseconds in double precision (no timestamptz round trips, no bigint strings in
-- JS). payload/result/missing/error/backoff are opaque text written by the core, never parsed here.
-- States: waiting | delayed | partial (runnable once run_at <= now) · active (leased) ·
--         completed | failed | cancelled (finished; deleted by job_remove_finished after a TTL).
--
-- Claim-ahead: a long-running worker (a LISTEN subscriber) claims jobs before it runs them. Each of
-- its calls completes a batch and claims the replacements in the same statement (job_worker_batch),
-- so its next claim is answered from memory (withClaimAhead, src/adapter-kit/claim-ahead.ts): half the round trips per job
-- at concurrency 1. Serverless ticks never claim ahead (job_claim), so a tick never leaves a
-- claimed-but-unstarted job locked.
-- Such claims store started_at NULL; the worker writes the start once the handler began, with its
-- next call, a heartbeat, or the job's own outcome, whichever comes first. When the lease of an
-- active job without started_at lapses, its worker died before running it: job_reclaim hands it
-- back to its place in line as if it had never been claimed (attempts - 1, no error), instead of
-- counting a lost run. At most 3 times per job (job_ahead_returns), so a job that kills its worker
-- before its start is written cannot come back uncounted for ever.
-- started_at NULL on an active job is the flag, rather than a column of its own: a new column would
-- change the row type every job function returns, and connections that prepared those statements
-- before a migration adding it would fail ("cached plan must not change result type").

-- A queue table churns: every claim and completion leaves a dead row version behind. Vacuum and
-- analyze it after ~2% changes (at least 1,000) instead of the default 20% / 10%.
CREATE TABLE IF NOT EXISTS {{schema}}.jobs (
  id               text PRIMARY KEY,
  seq              bigint GENERATED ALWAYS AS IDENTITY,
  name             text NOT NULL,
  state            text NOT NULL CHECK (state IN ('waiting', 'delayed', 'active', 'partial', 'completed', 'failed', 'cancelled')),
  payload          text NOT NULL,
  priority         integer NOT NULL DEFAULT 0,
  run_at           double precision NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL,
  backoff          text NOT NULL,
  timeout_ms       double precision NOT NULL,
  retry_until      double precision,
  progress         double precision NOT NULL DEFAULT 0,
  progress_message text,
  result           text,
  missing          text,
  error            text,
  lease_token      text,
  lease_until      double precision,
  created_at       double precision NOT NULL,
  updated_at       double precision NOT NULL,
  started_at       double precision,
  finished_at      double precision
) WITH (
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);

-- The claim walks this in order and stops after LIMIT rows. Finished and active jobs are not in it,
-- so it stays as small as the backlog however many finished jobs accumulate.
CREATE INDEX IF NOT EXISTS jobs_runnable_idx ON {{schema}}.jobs (priority DESC, run_at, seq)
  WHERE state IN ('waiting', 'delayed', 'partial');
CREATE INDEX IF NOT EXISTS jobs_lease_idx ON {{schema}}.jobs (lease_until) WHERE state = 'active';
CREATE INDEX IF NOT EXISTS jobs_finished_idx ON {{schema}}.jobs (state, finished_at)
  WHERE state IN ('completed', 'failed', 'cancelled');
CREATE INDEX IF NOT EXISTS jobs_list_idx ON {{schema}}.jobs (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_list_state_idx ON {{schema}}.jobs (state, created_at DESC, id DESC);

ALTER TABLE {{schema}}.jobs ENABLE ROW LEVEL SECURITY;

-- Long-running workers that found the queue (partly) empty and LISTEN for new jobs, until `until`.
-- job_add sends NOTIFY only while one of them waits for that name: NOTIFY serializes committing
-- transactions on a global lock, a cost not worth paying when every worker is busy or nobody listens.
CREATE TABLE IF NOT EXISTS {{schema}}.job_waiters (
  worker text PRIMARY KEY,
  names  text[] NOT NULL,
  until  double precision NOT NULL
);

ALTER TABLE {{schema}}.job_waiters ENABLE ROW LEVEL SECURITY;

-- Uncounted hand-backs per job. Written only when a dead worker's unstarted job goes back.
CREATE TABLE IF NOT EXISTS {{schema}}.job_ahead_returns (
  id      text PRIMARY KEY,
  returns integer NOT NULL
);

ALTER TABLE {{schema}}.job_ahead_returns ENABLE ROW LEVEL SECURITY;

-- Wake-ups: one shared channel; the payload is '<quoted schema>:<job name>' so listeners of other
-- schemas ignore it. Sent at commit, only for jobs that are due now.
CREATE OR REPLACE FUNCTION {{schema}}.job_wake(p_name text)
RETURNS void LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$ SELECT pg_catalog.pg_notify('botwire_jobs', '{{schema}}:' || p_name) $$;

-- Insert unless the id exists; returns the stored row and whether it was created.
-- p_notify = false skips the wake-up: NOTIFY serializes committing transactions on a global lock,
-- which costs several times the insert rate when nobody LISTENs anyway (serverless ticks).
CREATE OR REPLACE FUNCTION {{schema}}.job_add(
  p_id text, p_name text, p_payload text, p_priority integer, p_run_at double precision, p_max_attempts integer,
  p_backoff text, p_timeout_ms double precision, p_retry_until double precision, p_now double precision,
  p_notify boolean DEFAULT true)
RETURNS TABLE (created boolean, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_row {{schema}}.jobs;
BEGIN
  INSERT INTO {{schema}}.jobs (id, name, state, payload, priority, run_at, max_attempts, backoff, timeout_ms,
                               retry_until, created_at, updated_at)
  VALUES (p_id, p_name, CASE WHEN p_run_at <= p_now THEN 'waiting' ELSE 'delayed' END, p_payload, p_priority,
          p_run_at, p_max_attempts, p_backoff, p_timeout_ms, p_retry_until, p_now, p_now)
  ON CONFLICT (id) DO NOTHING
  RETURNING * INTO v_row;
  IF FOUND THEN
    IF v_row.state = 'waiting' AND p_notify
       AND EXISTS (SELECT 1 FROM {{schema}}.job_waiters AS w WHERE w.until > p_now AND p_name = ANY (w.names)) THEN
      PERFORM {{schema}}.job_wake(p_name);
    END IF;
    RETURN QUERY SELECT true, v_row;
  ELSE
    RETURN QUERY SELECT false, j FROM {{schema}}.jobs AS j WHERE j.id = p_id;
  END IF;
END $$;

-- Lease up to p_limit due jobs, highest priority first; SKIP LOCKED keeps concurrent claims apart.
-- p_waiter (a listening worker's id): registered as waiting for 30 s when fewer than p_limit jobs
-- were found. A full claim does not unregister it: a worker filling its last free slot would then
-- miss the wake-ups of jobs added before its next short claim. A busy worker's entry simply expires.
-- The claim must walk jobs_runnable_idx in order and stop after p_limit rows. Right after a burst of
-- adds the table's statistics are stale (autovacuum analyzes it up to a minute later), and the
-- planner then prefers a bitmap scan that reads and sorts EVERY runnable job for each claim:
-- measured 2.4 ms per claim with 6,000 jobs waiting (growing with the backlog) vs 0.44 ms in index
-- order. Without bitmap scans the ordered index scan is the only cheap plan left.
CREATE OR REPLACE FUNCTION {{schema}}.job_claim(
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_now double precision, p_waiter text DEFAULT NULL)
RETURNS SETOF {{schema}}.jobs
LANGUAGE plpgsql SECURITY INVOKER
SET enable_bitmapscan = off
AS $$
DECLARE
  v_n integer;
BEGIN
  RETURN QUERY
  UPDATE {{schema}}.jobs AS j
     SET state = 'active', lease_token = p_token, lease_until = p_now + p_lease_ms, attempts = j.attempts + 1,
         started_at = p_now, updated_at = p_now
    FROM (SELECT d.id FROM {{schema}}.jobs AS d
           WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
             AND d.name = ANY (p_names) AND d.timeout_ms <= p_max_timeout_ms
           ORDER BY d.priority DESC, d.run_at, d.seq
           LIMIT p_limit
           FOR UPDATE SKIP LOCKED) AS c
   WHERE j.id = c.id
  RETURNING j.*;
  IF p_waiter IS NULL THEN RETURN; END IF;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n < p_limit THEN
    -- Refreshed only when half its time is gone, so an idle worker's polls rarely write.
    INSERT INTO {{schema}}.job_waiters AS w (worker, names, until) VALUES (p_waiter, p_names, p_now + 30000)
    ON CONFLICT (worker) DO UPDATE SET names = excluded.names, until = excluded.until
      WHERE w.until < p_now + 15000 OR w.names IS DISTINCT FROM excluded.names;
  END IF;
END $$;

-- A beating job is running: its start is recorded if it was not yet.
CREATE OR REPLACE FUNCTION {{schema}}.job_heartbeat(
  p_id text, p_token text, p_lease_ms double precision, p_now double precision,
  p_progress double precision DEFAULT NULL, p_message text DEFAULT NULL)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH u AS (
    UPDATE {{schema}}.jobs AS j
       SET lease_until = p_now + p_lease_ms, updated_at = p_now, started_at = COALESCE(j.started_at, p_now),
           progress = COALESCE(p_progress, j.progress),
           progress_message = CASE WHEN p_progress IS NULL THEN j.progress_message ELSE p_message END
     WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
    RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM u)
$$;

CREATE OR REPLACE FUNCTION {{schema}}.job_complete(p_id text, p_token text, p_result text, p_now double precision)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH u AS (
    UPDATE {{schema}}.jobs AS j
       SET state = 'completed', result = p_result, missing = NULL, progress = 100, finished_at = p_now,
           updated_at = p_now, lease_token = NULL, lease_until = NULL
     WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
    RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM u)
$$;

-- Several completions in one statement (one commit), each fenced by its own token; returns the
-- (id, token) pairs that were accepted, and records the start of a run whose start was not written
-- yet. The caller sends ids sorted, so concurrent batches lock rows in the same order (the nested
-- loop follows the array).
CREATE OR REPLACE FUNCTION {{schema}}.job_complete_many(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision)
RETURNS TABLE (id text, token text)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  RETURN QUERY
  UPDATE {{schema}}.jobs AS j
     SET state = 'completed', result = c.result, missing = NULL, progress = 100, finished_at = p_now,
         updated_at = p_now, lease_token = NULL, lease_until = NULL, started_at = COALESCE(j.started_at, p_now)
    FROM ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_tokens), pg_catalog.unnest(p_results)) AS c(id, token, result)
   WHERE j.id = c.id AND j.lease_token = c.token AND j.state = 'active'
  RETURNING j.id, c.token;
END $$;

-- Partial result: run again at p_retry_at for the missing parts, or (p_final_error given) fail for
-- good. The run's start is recorded if it was not yet.
CREATE OR REPLACE FUNCTION {{schema}}.job_partial(
  p_id text, p_token text, p_result text, p_missing text, p_retry_at double precision, p_now double precision,
  p_final_error text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET result = p_result, missing = p_missing, updated_at = p_now, lease_token = NULL, lease_until = NULL,
         state = CASE WHEN p_final_error IS NULL THEN 'partial' ELSE 'failed' END,
         run_at = CASE WHEN p_final_error IS NULL THEN p_retry_at ELSE j.run_at END,
         error = COALESCE(p_final_error, j.error),
         finished_at = CASE WHEN p_final_error IS NULL THEN NULL ELSE p_now END,
         started_at = COALESCE(j.started_at, p_now)
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name INTO v_name;
  IF NOT FOUND THEN RETURN false; END IF;
  IF p_final_error IS NULL AND p_retry_at <= p_now THEN PERFORM {{schema}}.job_wake(v_name); END IF;
  RETURN true;
END $$;

-- Failure: retry at p_retry_at (waiting/delayed), or fail for good when p_retry_at is NULL. The
-- run's start is recorded if it was not yet.
CREATE OR REPLACE FUNCTION {{schema}}.job_fail(
  p_id text, p_token text, p_error text, p_retry_at double precision, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET error = p_error, updated_at = p_now, lease_token = NULL, lease_until = NULL,
         state = CASE WHEN p_retry_at IS NULL THEN 'failed' WHEN p_retry_at <= p_now THEN 'waiting' ELSE 'delayed' END,
         run_at = COALESCE(p_retry_at, j.run_at),
         finished_at = CASE WHEN p_retry_at IS NULL THEN p_now ELSE NULL END,
         started_at = COALESCE(j.started_at, p_now)
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name INTO v_name;
  IF NOT FOUND THEN RETURN false; END IF;
  IF p_retry_at IS NOT NULL AND p_retry_at <= p_now THEN PERFORM {{schema}}.job_wake(v_name); END IF;
  RETURN true;
END $$;

-- Hand a claimed job back without counting the run. It keeps the job's place in line (its run_at,
-- already due when it was claimed): a job claimed ahead and handed back unstarted must not fall
-- behind jobs added after it.
CREATE OR REPLACE FUNCTION {{schema}}.job_release(p_id text, p_token text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET state = 'waiting', run_at = LEAST(j.run_at, p_now), attempts = GREATEST(j.attempts - 1, 0), updated_at = p_now,
         lease_token = NULL, lease_until = NULL
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name INTO v_name;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM {{schema}}.job_wake(v_name);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_retry(p_id text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET state = 'waiting', run_at = p_now, attempts = 0, finished_at = NULL, updated_at = p_now
   WHERE j.id = p_id AND j.state IN ('failed', 'cancelled', 'partial', 'delayed')
  RETURNING j.name INTO v_name;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM {{schema}}.job_wake(v_name);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_cancel(p_id text, p_now double precision)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH u AS (
    UPDATE {{schema}}.jobs AS j
       SET state = 'cancelled', finished_at = p_now, updated_at = p_now, lease_token = NULL, lease_until = NULL
     WHERE j.id = p_id AND j.state IN ('waiting', 'delayed', 'partial', 'active')
    RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM u)
$$;

CREATE OR REPLACE FUNCTION {{schema}}.job_get(p_id text)
RETURNS SETOF {{schema}}.jobs
LANGUAGE sql STABLE SECURITY INVOKER
AS $$ SELECT * FROM {{schema}}.jobs AS j WHERE j.id = p_id $$;

-- Newest first; the cursor is the (created_at, id) of the last row of the previous page.
-- Returns up to p_limit + 1 rows so the caller knows whether another page exists.
CREATE OR REPLACE FUNCTION {{schema}}.job_list(
  p_state text, p_name text, p_limit integer, p_after_created double precision, p_after_id text)
RETURNS SETOF {{schema}}.jobs
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT * FROM {{schema}}.jobs AS j
   WHERE (p_state IS NULL OR j.state = p_state) AND (p_name IS NULL OR j.name = p_name)
     AND (p_after_created IS NULL OR (j.created_at, j.id) < (p_after_created, p_after_id))
   ORDER BY j.created_at DESC, j.id DESC
   LIMIT p_limit + 1
$$;

-- Jobs whose lease lapsed: first those claimed ahead and never started go back to their place in
-- line uncounted (at most 3 times per job), then the rest are taken over under p_token for the
-- core to retry or fail (attempts unchanged: the lost run was counted by its claim).
CREATE OR REPLACE FUNCTION {{schema}}.job_reclaim(
  p_token text, p_lease_ms double precision, p_limit integer, p_now double precision)
RETURNS SETOF {{schema}}.jobs
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_names text[];
  v_name text;
BEGIN
  WITH c AS (
    SELECT d.id FROM {{schema}}.jobs AS d
     WHERE d.state = 'active' AND d.lease_until < p_now AND d.started_at IS NULL
       AND COALESCE((SELECT r.returns FROM {{schema}}.job_ahead_returns AS r WHERE r.id = d.id), 0) < 3
     ORDER BY d.lease_until
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED),
  b AS (
    UPDATE {{schema}}.jobs AS j
       SET state = 'waiting', run_at = LEAST(j.run_at, p_now), attempts = GREATEST(j.attempts - 1, 0),
           updated_at = p_now, lease_token = NULL, lease_until = NULL
      FROM c
     WHERE j.id = c.id
    RETURNING j.id, j.name),
  n AS (
    INSERT INTO {{schema}}.job_ahead_returns AS r (id, returns) SELECT b.id, 1 FROM b
    ON CONFLICT (id) DO UPDATE SET returns = r.returns + 1)
  SELECT pg_catalog.array_agg(DISTINCT b.name) INTO v_names FROM b;
  IF v_names IS NOT NULL THEN
    FOREACH v_name IN ARRAY v_names LOOP
      PERFORM {{schema}}.job_wake(v_name);
    END LOOP;
  END IF;
  RETURN QUERY
  UPDATE {{schema}}.jobs AS j
     SET lease_token = p_token, lease_until = p_now + p_lease_ms, updated_at = p_now
    FROM (SELECT d.id FROM {{schema}}.jobs AS d
           WHERE d.state = 'active' AND d.lease_until < p_now
           ORDER BY d.lease_until
           LIMIT p_limit
           FOR UPDATE SKIP LOCKED) AS c
   WHERE j.id = c.id
  RETURNING j.*;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_count_due(p_names text[], p_now double precision)
RETURNS bigint
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT count(*) FROM {{schema}}.jobs AS j
   WHERE j.state IN ('waiting', 'delayed', 'partial') AND j.run_at <= p_now AND j.name = ANY (p_names)
$$;

-- Deletes finished jobs; a deleted job's count of uncounted hand-backs goes with it (ids can be
-- reused).
CREATE OR REPLACE FUNCTION {{schema}}.job_remove_finished(p_states text[], p_before double precision, p_limit integer)
RETURNS bigint
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH d AS (
    DELETE FROM {{schema}}.jobs AS j
     WHERE j.id IN (SELECT f.id FROM {{schema}}.jobs AS f
                     WHERE f.state = ANY (p_states) AND f.state IN ('completed', 'failed', 'cancelled')
                       AND f.finished_at < p_before
                     LIMIT p_limit
                     FOR UPDATE SKIP LOCKED)
    RETURNING j.id),
  r AS (
    DELETE FROM {{schema}}.job_ahead_returns AS r WHERE r.id IN (SELECT d.id FROM d))
  SELECT pg_catalog.count(*) FROM d
$$;

-- Complete a batch and claim replacements in one statement. Completion rows carry done_id/done_token
-- (the pairs whose completion was accepted, as job_complete_many answers) and a NULL job; claimed
-- rows carry the job (leased to p_token). The adapter calls job_worker_batch, which also records
-- starts; this one stays part of the schema's SQL API.
CREATE OR REPLACE FUNCTION {{schema}}.job_complete_claim(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision,
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision)
RETURNS TABLE (done_id text, done_token text, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  RETURN QUERY SELECT c.id, c.token, NULL::{{schema}}.jobs FROM {{schema}}.job_complete_many(p_ids, p_tokens, p_results, p_now) AS c;
  IF p_limit > 0 THEN
    RETURN QUERY SELECT NULL::text, NULL::text, j FROM {{schema}}.job_claim(p_names, p_limit, p_max_timeout_ms, p_token, p_lease_ms, p_now) AS j;
  END IF;
END $$;

-- One call of a long-running worker: record the starts of the runs it began since its last call
-- (p_started_*: jobs still active under that token, no start yet), complete a batch (sorted ids),
-- and claim up to p_limit jobs, leased to p_token, with started_at NULL (not started) — the jobs
-- that replace the completed ones, or the worker's own claim (no completions; p_waiter as in
-- job_claim). Rows as in job_complete_claim: done_id/done_token per accepted completion, then the
-- claimed jobs.
CREATE OR REPLACE FUNCTION {{schema}}.job_worker_batch(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision,
  p_started_ids text[], p_started_tokens text[], p_started_at double precision[],
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_waiter text)
RETURNS TABLE (done_id text, done_token text, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
-- As for job_claim: walk jobs_runnable_idx in order even on stale statistics.
SET enable_bitmapscan = off
AS $$
DECLARE
  v_n integer := 0;
BEGIN
  IF pg_catalog.cardinality(p_started_ids) > 0 THEN
    UPDATE {{schema}}.jobs AS j
       SET started_at = s.at
      FROM ROWS FROM (pg_catalog.unnest(p_started_ids), pg_catalog.unnest(p_started_tokens), pg_catalog.unnest(p_started_at)) AS s(id, token, at)
     WHERE j.id = s.id AND j.lease_token = s.token AND j.state = 'active' AND j.started_at IS NULL;
  END IF;
  IF pg_catalog.cardinality(p_ids) > 0 THEN
    RETURN QUERY SELECT c.id, c.token, NULL::{{schema}}.jobs FROM {{schema}}.job_complete_many(p_ids, p_tokens, p_results, p_now) AS c;
  END IF;
  IF p_limit > 0 THEN
    RETURN QUERY
    UPDATE {{schema}}.jobs AS j
       SET state = 'active', lease_token = p_token, lease_until = p_now + p_lease_ms, attempts = j.attempts + 1,
           started_at = NULL, updated_at = p_now
      FROM (SELECT d.id FROM {{schema}}.jobs AS d
             WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
               AND d.name = ANY (p_names) AND d.timeout_ms <= p_max_timeout_ms
             ORDER BY d.priority DESC, d.run_at, d.seq
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) AS c
     WHERE j.id = c.id
    RETURNING NULL::text, NULL::text, j;
    GET DIAGNOSTICS v_n = ROW_COUNT;
  END IF;
  IF p_waiter IS NOT NULL AND v_n < p_limit THEN
    -- As in job_claim: an idle listening worker registers for NOTIFY wake-ups.
    INSERT INTO {{schema}}.job_waiters AS w (worker, names, until) VALUES (p_waiter, p_names, p_now + 30000)
    ON CONFLICT (worker) DO UPDATE SET names = excluded.names, until = excluded.until
      WHERE w.until < p_now + 15000 OR w.names IS DISTINCT FROM excluded.names;
  END IF;
END $$;

-- Lockdown (the rule: 001_sessions.sql's header). Nobody but the owner and Supabase's service_role
-- may read the tables or call the functions.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  FOREACH v_obj IN ARRAY ARRAY['{{schema}}.jobs', '{{schema}}.job_waiters', '{{schema}}.job_ahead_returns'] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s', v_obj::regclass, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO service_role', v_obj::regclass);
    END IF;
  END LOOP;
  -- The identity column's sequence, found by its column.
  EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %s',
    pg_catalog.pg_get_serial_sequence('{{schema}}.jobs', 'seq')::regclass, v_from);
  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.job_wake(text)',
    '{{schema}}.job_add(text, text, text, integer, double precision, integer, text, double precision, double precision, double precision, boolean)',
    '{{schema}}.job_claim(text[], integer, double precision, text, double precision, double precision, text)',
    '{{schema}}.job_heartbeat(text, text, double precision, double precision, double precision, text)',
    '{{schema}}.job_complete(text, text, text, double precision)',
    '{{schema}}.job_complete_many(text[], text[], text[], double precision)',
    '{{schema}}.job_partial(text, text, text, text, double precision, double precision, text)',
    '{{schema}}.job_fail(text, text, text, double precision, double precision)',
    '{{schema}}.job_release(text, text, double precision)',
    '{{schema}}.job_retry(text, double precision)',
    '{{schema}}.job_cancel(text, double precision)',
    '{{schema}}.job_get(text)',
    '{{schema}}.job_list(text, text, integer, double precision, text)',
    '{{schema}}.job_reclaim(text, double precision, integer, double precision)',
    '{{schema}}.job_count_due(text[], double precision)',
    '{{schema}}.job_remove_finished(text[], double precision, integer)',
    '{{schema}}.job_complete_claim(text[], text[], text[], double precision, text[], integer, double precision, text, double precision)',
    '{{schema}}.job_worker_batch(text[], text[], text[], double precision, text[], text[], double precision[], text[], integer, double precision, text, double precision, text)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
