-- 009_job_ahead: a job claimed but never started goes back uncounted when its worker dies.
--
-- A long-running worker claims jobs before it runs them: its completion calls claim its next jobs
-- ahead (005), which wait in its memory until a slot frees, and a claim takes a moment to reach the
-- handler. Its claims (job_worker_batch, below) now store started_at NULL; the worker writes the
-- start once the handler began, with its next call, a heartbeat, or the job's own outcome,
-- whichever comes first. When the lease of an active job without started_at lapses, its worker
-- died before running it: job_reclaim hands it back to its place in line as if it had never been
-- claimed (attempts - 1, no error), instead of counting a lost run. At most 3 times per job
-- (job_ahead_returns), so a job that kills its worker before its start is written cannot come back
-- uncounted for ever. Ticks keep job_claim, which sets started_at at once.
--
-- started_at NULL on an active job is the flag, so the jobs table keeps its columns: a new column
-- would change the row type every job function returns, and connections that prepared those
-- statements before the migration would fail ("cached plan must not change result type").
-- Every function keeps its signature; the new one is job_worker_batch.

-- Uncounted hand-backs per job. Written only when a dead worker's unstarted job goes back.
CREATE TABLE IF NOT EXISTS {{schema}}.job_ahead_returns (
  id      text PRIMARY KEY,
  returns integer NOT NULL
);

ALTER TABLE {{schema}}.job_ahead_returns ENABLE ROW LEVEL SECURITY;

-- Completions record the start of a run whose start was not written yet.
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

-- One call of a long-running worker: record the starts of the runs it began since its last call
-- (p_started_*: jobs still active under that token, no start yet), complete a batch (sorted ids),
-- and claim up to p_limit jobs, leased to p_token, with started_at NULL (not started) — the jobs
-- that replace the completed ones, or the worker's own claim (no completions; p_waiter as in
-- job_claim). Rows as in job_complete_claim (005): done_id/done_token per accepted completion,
-- then the claimed jobs.
CREATE OR REPLACE FUNCTION {{schema}}.job_worker_batch(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision,
  p_started_ids text[], p_started_tokens text[], p_started_at double precision[],
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_waiter text)
RETURNS TABLE (done_id text, done_token text, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
-- As for job_claim (005): walk jobs_runnable_idx in order even on stale statistics.
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

-- As in 002, plus: the run's start is recorded if it was not yet.
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

-- As in 002, plus: the run's start is recorded if it was not yet.
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

-- As in 002, plus: a deleted job's count of uncounted hand-backs goes with it (ids can be reused).
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

-- Nobody but the owner (and Supabase's service_role) may call them or read the new table.
DO $$
DECLARE
  v_fn text;
  v_role text;
BEGIN
  FOREACH v_fn IN ARRAY ARRAY[
    '{{schema}}.job_complete_many(text[], text[], text[], double precision)',
    '{{schema}}.job_worker_batch(text[], text[], text[], double precision, text[], text[], double precision[], text[], integer, double precision, text, double precision, text)',
    '{{schema}}.job_heartbeat(text, text, double precision, double precision, double precision, text)',
    '{{schema}}.job_partial(text, text, text, text, double precision, double precision, text)',
    '{{schema}}.job_fail(text, text, text, double precision, double precision)',
    '{{schema}}.job_reclaim(text, double precision, integer, double precision)',
    '{{schema}}.job_remove_finished(text[], double precision, integer)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', v_fn);
    FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %I', v_fn, v_role);
      END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_fn);
    END IF;
  END LOOP;
  REVOKE ALL ON {{schema}}.job_ahead_returns FROM PUBLIC;
  FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
      EXECUTE pg_catalog.format('REVOKE ALL ON {{schema}}.job_ahead_returns FROM %I', v_role);
    END IF;
  END LOOP;
  -- Supabase's server-side key runs as service_role (BYPASSRLS, but it still needs grants).
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON {{schema}}.job_ahead_returns TO service_role;
  END IF;
END
$$;
