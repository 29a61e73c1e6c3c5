-- 005_job_claim_ahead: complete a batch of jobs and claim their replacements in one statement.
--
-- A busy worker that finishes a job needs the next one: doing both in one round trip (the worker's
-- next claim is then answered from memory, see src/jobs/job-prefetch.ts) halves the round trips per
-- job at concurrency 1. Only long-running workers (LISTEN subscribers) claim ahead; serverless
-- ticks never do, so a tick never leaves a claimed-but-unstarted job locked.
--
-- Completion rows carry done_id/done_token (the pairs whose completion was accepted, as
-- job_complete_many answers) and a NULL job; claimed rows carry the job (leased to p_token).

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

-- Hand a claimed job back without counting the run. Unlike 002's version it keeps the job's place
-- in line (its run_at, already due when it was claimed): a job claimed ahead and handed back
-- unstarted must not fall behind jobs added after it.
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

-- The claim must walk jobs_runnable_idx in order and stop after p_limit rows. Right after a burst of
-- adds the table's statistics are stale (autovacuum analyzes it up to a minute later), and the
-- planner then prefers a bitmap scan that reads and sorts EVERY runnable job for each claim:
-- measured 2.4 ms per claim with 6,000 jobs waiting (growing with the backlog) vs 0.44 ms in index
-- order. Without bitmap scans the ordered index scan is the only cheap plan left.
ALTER FUNCTION {{schema}}.job_claim(text[], integer, double precision, text, double precision, double precision, text)
  SET enable_bitmapscan = off;

-- A queue table churns: every claim and completion leaves a dead row version behind. Vacuum and
-- analyze it after ~2% changes (at least 1,000) instead of the default 20% / 10%.
ALTER TABLE {{schema}}.jobs SET (
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);
