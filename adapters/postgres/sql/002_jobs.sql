-- 002_jobs: the JobQueue table and one function per JobBackend primitive (src/jobs/backend.ts).
--
-- Same conventions as 001_sessions (RLS without policies, SECURITY INVOKER, no SET search_path,
-- p_* named arguments for Supabase rpc), with one deliberate difference: every function takes the
-- caller's clock as p_now (epoch ms). The JobQueue core is the single time source on every backend
-- (memory, Redis, Postgres), which is what lets tests inject a clock for delays, backoff and leases.
--
-- Times are epoch milliseconds in double precision (no timestamptz round trips, no bigint strings in
-- JS). payload/result/missing/error/backoff are opaque text written by the core, never parsed here.
-- States: waiting | delayed | partial (runnable once run_at <= now) · active (leased) ·
--         completed | failed | cancelled (finished; deleted by job_remove_finished after a TTL).

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
);

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
CREATE OR REPLACE FUNCTION {{schema}}.job_claim(
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_now double precision, p_waiter text DEFAULT NULL)
RETURNS SETOF {{schema}}.jobs
LANGUAGE plpgsql SECURITY INVOKER
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

CREATE OR REPLACE FUNCTION {{schema}}.job_heartbeat(
  p_id text, p_token text, p_lease_ms double precision, p_now double precision,
  p_progress double precision DEFAULT NULL, p_message text DEFAULT NULL)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH u AS (
    UPDATE {{schema}}.jobs AS j
       SET lease_until = p_now + p_lease_ms, updated_at = p_now,
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
-- (id, token) pairs that were accepted. The caller sends ids sorted, so concurrent batches lock rows
-- in the same order (the nested loop follows the array).
CREATE OR REPLACE FUNCTION {{schema}}.job_complete_many(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision)
RETURNS TABLE (id text, token text)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  RETURN QUERY
  UPDATE {{schema}}.jobs AS j
     SET state = 'completed', result = c.result, missing = NULL, progress = 100, finished_at = p_now,
         updated_at = p_now, lease_token = NULL, lease_until = NULL
    FROM unnest(p_ids, p_tokens, p_results) AS c(id, token, result)
   WHERE j.id = c.id AND j.lease_token = c.token AND j.state = 'active'
  RETURNING j.id, c.token;
END $$;

-- Partial result: run again at p_retry_at for the missing parts, or (p_final_error given) fail for good.
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
         finished_at = CASE WHEN p_final_error IS NULL THEN NULL ELSE p_now END
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name INTO v_name;
  IF NOT FOUND THEN RETURN false; END IF;
  IF p_final_error IS NULL AND p_retry_at <= p_now THEN PERFORM {{schema}}.job_wake(v_name); END IF;
  RETURN true;
END $$;

-- Failure: retry at p_retry_at (waiting/delayed), or fail for good when p_retry_at is NULL.
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
         finished_at = CASE WHEN p_retry_at IS NULL THEN p_now ELSE NULL END
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name INTO v_name;
  IF NOT FOUND THEN RETURN false; END IF;
  IF p_retry_at IS NOT NULL AND p_retry_at <= p_now THEN PERFORM {{schema}}.job_wake(v_name); END IF;
  RETURN true;
END $$;

-- Hand a claimed job back without counting the run.
CREATE OR REPLACE FUNCTION {{schema}}.job_release(p_id text, p_token text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET state = 'waiting', run_at = p_now, attempts = GREATEST(j.attempts - 1, 0), updated_at = p_now,
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

-- Take over jobs whose lease lapsed (their worker died); the core then retries or fails them.
CREATE OR REPLACE FUNCTION {{schema}}.job_reclaim(
  p_token text, p_lease_ms double precision, p_limit integer, p_now double precision)
RETURNS SETOF {{schema}}.jobs
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  UPDATE {{schema}}.jobs AS j
     SET lease_token = p_token, lease_until = p_now + p_lease_ms, updated_at = p_now
    FROM (SELECT d.id FROM {{schema}}.jobs AS d
           WHERE d.state = 'active' AND d.lease_until < p_now
           ORDER BY d.lease_until
           LIMIT p_limit
           FOR UPDATE SKIP LOCKED) AS c
   WHERE j.id = c.id
  RETURNING j.*
$$;

CREATE OR REPLACE FUNCTION {{schema}}.job_count_due(p_names text[], p_now double precision)
RETURNS bigint
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT count(*) FROM {{schema}}.jobs AS j
   WHERE j.state IN ('waiting', 'delayed', 'partial') AND j.run_at <= p_now AND j.name = ANY (p_names)
$$;

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
    RETURNING 1)
  SELECT count(*) FROM d
$$;
