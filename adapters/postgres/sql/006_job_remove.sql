-- 006_job_remove: JobBackend.remove (src/jobs/backend.ts) — delete one job that is not active.
-- Conventions as 002_jobs (p_now from the caller, SECURITY INVOKER, lockdown at the end).
--
-- One DELETE of the job's row. Everything else follows from it or needs nothing:
-- - job_counts: the AFTER DELETE statement trigger of 005 subtracts the row from its (name, state).
-- - job_lanes: a group whose last unfinished job this was keeps a stale lane row, which the next
--   job of the group resets and group claims forget (005's rule for any group that runs empty).
-- - job_limits / job_starts: a job that is not active holds no slot; past starts stay in their window.
-- - job_debounce and job_ahead_returns rows naming the job go with it, as in job_remove_finished.
-- A concurrent claim either locked the row first (then the DELETE waits, sees it `active` and leaves
-- it) or skips the row the DELETE holds (FOR UPDATE SKIP LOCKED).
CREATE OR REPLACE FUNCTION {{schema}}.job_remove(p_id text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  DELETE FROM {{schema}}.jobs AS j WHERE j.id = p_id AND j.state <> 'active';
  IF NOT FOUND THEN RETURN false; END IF;
  DELETE FROM {{schema}}.job_debounce AS b WHERE b.id = p_id;
  DELETE FROM {{schema}}.job_ahead_returns AS r WHERE r.id = p_id;
  RETURN true;
END $$;

-- Lockdown (the rule: 001_sessions.sql's header), for what this migration created.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.job_remove(text, double precision)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
