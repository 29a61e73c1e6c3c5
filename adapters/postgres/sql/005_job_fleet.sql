-- 005_job_fleet: limits per job name, fair groups, bulk add, counts, debounce (the rules:
-- src/jobs/fleet-backend.ts) and a fleet-wide semaphore (src/jobs/semaphore-backend.ts).
-- Conventions as 002_jobs (p_now from the caller, RLS without policies, lockdown at the end).
--
-- Where the rules are enforced, and what the plain path pays:
-- - job_claim and job_worker_batch first ask whether any of their names has a limit (one probe of
--   job_limits' primary key) or the claim has p_group_concurrency. If not, they run the same single
--   UPDATE … FOR UPDATE SKIP LOCKED as before (jobs with a group are left to group claims).
-- - Otherwise job_claim_fleet picks: it locks the job_limits rows of its names (so claims of one
--   limited name queue, and each sees the others' claims), and with groups an advisory lock that
--   every grouped add shares, then counts live jobs (active, lease_until >= now) among the active
--   jobs only, which are as many as the fleet runs at once.
-- - Counts: statement triggers add each statement's changes per (name, state) into job_counts, on
--   a row per backend (pg_backend_pid()), so concurrent writers never wait for each other there;
--   job_remove_finished folds the rows of other backends into row 0.

ALTER TABLE {{schema}}.jobs ADD COLUMN IF NOT EXISTS job_group text;

-- Unfinished jobs of a group, in claim order: a group's first due job and its live jobs.
CREATE INDEX IF NOT EXISTS jobs_group_idx ON {{schema}}.jobs (job_group, priority DESC, run_at, seq)
  WHERE job_group IS NOT NULL AND state IN ('waiting', 'delayed', 'partial', 'active');
-- Delayed jobs by due time: counts() moves those already due to `waiting` by reading this range.
CREATE INDEX IF NOT EXISTS jobs_delayed_idx ON {{schema}}.jobs (run_at, name) WHERE state = 'delayed';

CREATE TABLE IF NOT EXISTS {{schema}}.job_limits (
  name        text PRIMARY KEY,
  concurrency integer,
  rate_max    integer,
  rate_per_ms double precision
);
ALTER TABLE {{schema}}.job_limits ENABLE ROW LEVEL SECURITY;

-- Recorded starts of names with a rate (pruned as their windows slide).
CREATE TABLE IF NOT EXISTS {{schema}}.job_starts (
  name text NOT NULL,
  at   double precision NOT NULL
);
CREATE INDEX IF NOT EXISTS job_starts_idx ON {{schema}}.job_starts (name, at);
ALTER TABLE {{schema}}.job_starts ENABLE ROW LEVEL SECURITY;

-- Lanes of the group rotation: one per group with unfinished jobs, '' for the jobs without group.
-- A row whose group has no unfinished job left is stale: the next job of the group resets its turn
-- (to the tail), and group claims delete it when they meet it.
CREATE TABLE IF NOT EXISTS {{schema}}.job_lanes (
  grp  text PRIMARY KEY,
  turn bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS job_lanes_turn_idx ON {{schema}}.job_lanes (turn);
ALTER TABLE {{schema}}.job_lanes ENABLE ROW LEVEL SECURITY;
INSERT INTO {{schema}}.job_lanes (grp, turn) VALUES ('', 0) ON CONFLICT (grp) DO NOTHING;
CREATE SEQUENCE IF NOT EXISTS {{schema}}.job_turn_seq;

-- The job most recently created under (name, debounce id).
CREATE TABLE IF NOT EXISTS {{schema}}.job_debounce (
  name text NOT NULL,
  key  text NOT NULL,
  id   text NOT NULL,
  PRIMARY KEY (name, key)
);
ALTER TABLE {{schema}}.job_debounce ENABLE ROW LEVEL SECURITY;

-- Jobs per (name, state): the sum over shards. Shard = the backend that wrote it; 0 = folded.
CREATE TABLE IF NOT EXISTS {{schema}}.job_counts (
  name  text NOT NULL,
  state text NOT NULL,
  shard integer NOT NULL,
  n     bigint NOT NULL,
  PRIMARY KEY (name, state, shard)
);
ALTER TABLE {{schema}}.job_counts ENABLE ROW LEVEL SECURITY;
INSERT INTO {{schema}}.job_counts (name, state, shard, n)
SELECT j.name, j.state, 0, pg_catalog.count(*) FROM {{schema}}.jobs AS j GROUP BY j.name, j.state
ON CONFLICT (name, state, shard) DO NOTHING;

-- Semaphore holders: a token holds a permit of `name` until `until` (epoch ms).
CREATE TABLE IF NOT EXISTS {{schema}}.semaphore_holders (
  name  text NOT NULL,
  token text NOT NULL,
  until double precision NOT NULL,
  PRIMARY KEY (name, token)
);
ALTER TABLE {{schema}}.semaphore_holders ENABLE ROW LEVEL SECURITY;

-- Counter maintenance: one upsert per statement, rows in (name, state) order.
CREATE OR REPLACE FUNCTION {{schema}}.job_counts_ins() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  INSERT INTO {{schema}}.job_counts AS c (name, state, shard, n)
  SELECT x.name, x.state, pg_catalog.pg_backend_pid(), pg_catalog.count(*) FROM new_rows AS x
   GROUP BY x.name, x.state ORDER BY x.name, x.state
  ON CONFLICT (name, state, shard) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_counts_upd() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  INSERT INTO {{schema}}.job_counts AS c (name, state, shard, n)
  SELECT x.name, x.state, pg_catalog.pg_backend_pid(), pg_catalog.sum(x.d)
    FROM (SELECT o.name, o.state, -1 AS d FROM old_rows AS o UNION ALL SELECT w.name, w.state, 1 FROM new_rows AS w) AS x
   GROUP BY x.name, x.state HAVING pg_catalog.sum(x.d) <> 0 ORDER BY x.name, x.state
  ON CONFLICT (name, state, shard) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_counts_del() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  INSERT INTO {{schema}}.job_counts AS c (name, state, shard, n)
  SELECT x.name, x.state, pg_catalog.pg_backend_pid(), -pg_catalog.count(*) FROM old_rows AS x
   GROUP BY x.name, x.state ORDER BY x.name, x.state
  ON CONFLICT (name, state, shard) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS jobs_counts_ins ON {{schema}}.jobs;
DROP TRIGGER IF EXISTS jobs_counts_upd ON {{schema}}.jobs;
DROP TRIGGER IF EXISTS jobs_counts_del ON {{schema}}.jobs;
CREATE TRIGGER jobs_counts_ins AFTER INSERT ON {{schema}}.jobs REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.job_counts_ins();
CREATE TRIGGER jobs_counts_upd AFTER UPDATE ON {{schema}}.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.job_counts_upd();
CREATE TRIGGER jobs_counts_del AFTER DELETE ON {{schema}}.jobs REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.job_counts_del();

-- The lock that group claims hold alone and grouped adds (and moves into a group) share, so a claim
-- never forgets the lane of a group whose first job is being added.
CREATE OR REPLACE FUNCTION {{schema}}.job_lanes_lock(p_exclusive boolean)
RETURNS void LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  IF p_exclusive THEN
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('botwire:lanes:{{schema}}', 0));
  ELSE
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(pg_catalog.hashtextextended('botwire:lanes:{{schema}}', 0));
  END IF;
END $$;

-- A job of each group in p_groups just became unfinished: groups that had no other unfinished job
-- (none outside p_ids) join the rotation at the tail, in the order given.
CREATE OR REPLACE FUNCTION {{schema}}.job_lanes_join(p_groups text[], p_ids text[])
RETURNS void LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_grp text;
BEGIN
  FOREACH v_grp IN ARRAY p_groups LOOP
    CONTINUE WHEN v_grp IS NULL;
    IF NOT EXISTS (SELECT 1 FROM {{schema}}.jobs AS j
                    WHERE j.job_group = v_grp AND j.state IN ('waiting', 'delayed', 'partial', 'active')
                      AND j.id <> ALL (p_ids)) THEN
      INSERT INTO {{schema}}.job_lanes AS l (grp, turn) VALUES (v_grp, pg_catalog.nextval('{{schema}}.job_turn_seq'))
      ON CONFLICT (grp) DO UPDATE SET turn = excluded.turn;
    END IF;
  END LOOP;
END $$;

-- Wake-ups when jobs stop being live: each name of p_names with a concurrency limit, a due job and
-- a free slot; for each group of p_groups with a due job, the name of its first one. Only names a
-- LISTENing worker waits for (job_waiters), as job_add.
CREATE OR REPLACE FUNCTION {{schema}}.job_fleet_wake(p_names text[], p_groups text[], p_now double precision)
RETURNS void LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
  v_grp text;
BEGIN
  FOR v_name IN
    SELECT l.name FROM {{schema}}.job_limits AS l
     WHERE l.name = ANY (p_names) AND l.concurrency IS NOT NULL
       AND EXISTS (SELECT 1 FROM {{schema}}.job_waiters AS w WHERE w.until > p_now AND l.name = ANY (w.names))
       AND EXISTS (SELECT 1 FROM {{schema}}.jobs AS d
                    WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now AND d.name = l.name)
       AND (SELECT pg_catalog.count(*) FROM {{schema}}.jobs AS a
             WHERE a.state = 'active' AND a.lease_until >= p_now AND a.name = l.name) < l.concurrency
  LOOP
    PERFORM {{schema}}.job_wake(v_name);
  END LOOP;
  FOR v_grp IN SELECT DISTINCT g FROM pg_catalog.unnest(p_groups) AS g WHERE g IS NOT NULL LOOP
    SELECT d.name INTO v_name FROM {{schema}}.jobs AS d
     WHERE d.job_group = v_grp AND d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
     ORDER BY d.priority DESC, d.run_at, d.seq LIMIT 1;
    IF FOUND AND EXISTS (SELECT 1 FROM {{schema}}.job_waiters AS w WHERE w.until > p_now AND v_name = ANY (w.names)) THEN
      PERFORM {{schema}}.job_wake(v_name);
    END IF;
  END LOOP;
END $$;

-- The claim with limits and/or groups (fleet-backend.ts). Rows: the jobs taken (hint columns NULL),
-- then, when fewer than p_limit were taken and some were held back, one row with job NULL and the
-- hint. p_started: set started_at (a claim for a tick), else leave it NULL (a worker's claim).
-- p_ahead: a refill made ahead (no names with a rate).
CREATE OR REPLACE FUNCTION {{schema}}.job_claim_fleet(
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_now double precision, p_started boolean, p_group_concurrency integer, p_ahead boolean)
RETURNS TABLE (job {{schema}}.jobs, held_back boolean, retry_at double precision)
LANGUAGE plpgsql SECURITY INVOKER
SET enable_bitmapscan = off
AS $$
DECLARE
  v_lim text[] := '{}';        -- names with a limit
  v_room integer[] := '{}';    -- their room (NULL: no bound)
  v_ok text[];                 -- names that may still be taken
  v_taken integer := 0;
  v_held boolean := false;
  v_retry double precision;
  v_passed text[] := '{}';
  v_scanned integer := 0;
  v_found boolean;
  v_k integer;
  v_want integer;
  v_i integer;
  v_id text;
  v_live bigint;
  v_cnt bigint;
  v_by_c bigint;
  v_by_r bigint;
  v_at double precision;
  v_row {{schema}}.jobs;
  l record;
  r record;
BEGIN
  IF p_group_concurrency IS NOT NULL THEN PERFORM {{schema}}.job_lanes_lock(true); END IF;
  FOR l IN SELECT x.* FROM {{schema}}.job_limits AS x WHERE x.name = ANY (p_names) ORDER BY x.name FOR UPDATE LOOP
    v_by_c := NULL;
    v_by_r := NULL;
    IF l.concurrency IS NOT NULL THEN
      SELECT l.concurrency - pg_catalog.count(*) INTO v_by_c FROM {{schema}}.jobs AS a
       WHERE a.state = 'active' AND a.lease_until >= p_now AND a.name = l.name;
    END IF;
    IF l.rate_max IS NOT NULL THEN
      IF p_ahead THEN
        v_by_r := 0;
      ELSE
        -- Trimmed two windows back, not one: claims from other processes may arrive with a slightly
        -- earlier `now` and must still count the starts of their own window.
        DELETE FROM {{schema}}.job_starts AS s WHERE s.name = l.name AND s.at <= p_now - 2 * l.rate_per_ms;
        SELECT l.rate_max - pg_catalog.count(*) INTO v_by_r FROM {{schema}}.job_starts AS s
         WHERE s.name = l.name AND s.at > p_now - l.rate_per_ms;
      END IF;
    END IF;
    v_lim := v_lim || l.name;
    v_room := v_room || LEAST(v_by_c, v_by_r)::integer;
  END LOOP;
  SELECT COALESCE(pg_catalog.array_agg(DISTINCT n), '{}') INTO v_ok FROM pg_catalog.unnest(p_names) AS n
   WHERE COALESCE(v_room[pg_catalog.array_position(v_lim, n)], 1) > 0;

  WHILE v_taken < p_limit AND pg_catalog.cardinality(v_ok) > 0 AND v_scanned < 1000 LOOP
    IF p_group_concurrency IS NULL THEN
      -- No groups: the first jobs in claim order, as many at once as every name's room allows.
      SELECT LEAST(p_limit - v_taken, pg_catalog.min(v_room[pg_catalog.array_position(v_lim, n)])) INTO v_want
        FROM pg_catalog.unnest(v_ok) AS n;
      v_i := 0;
      FOR v_row IN
        UPDATE {{schema}}.jobs AS j
           SET state = 'active', lease_token = p_token, lease_until = p_now + p_lease_ms, attempts = j.attempts + 1,
               started_at = CASE WHEN p_started THEN p_now END, updated_at = p_now
          FROM (SELECT d.id FROM {{schema}}.jobs AS d
                 WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
                   AND d.name = ANY (v_ok) AND d.timeout_ms <= p_max_timeout_ms AND d.job_group IS NULL
                 ORDER BY d.priority DESC, d.run_at, d.seq
                 LIMIT v_want
                 FOR UPDATE SKIP LOCKED) AS c
         WHERE j.id = c.id
        RETURNING j.*
      LOOP
        v_i := v_i + 1;
        job := v_row; held_back := NULL; retry_at := NULL;
        RETURN NEXT;
        v_taken := v_taken + 1;
        v_k := pg_catalog.array_position(v_lim, v_row.name);
        IF v_k IS NOT NULL THEN
          v_room[v_k] := v_room[v_k] - 1;
          IF v_room[v_k] <= 0 THEN v_ok := pg_catalog.array_remove(v_ok, v_row.name); END IF;
          INSERT INTO {{schema}}.job_starts (name, at)
          SELECT v_row.name, p_now FROM {{schema}}.job_limits AS x WHERE x.name = v_row.name AND x.rate_max IS NOT NULL;
        END IF;
      END LOOP;
      v_scanned := v_scanned + v_i;
      -- Fewer than asked for: no eligible job left.
      EXIT WHEN v_i < v_want;
    ELSE
      -- Groups: one job at a time from the eligible lane with the lowest turn.
      v_found := false;
      FOR r IN SELECT x.grp FROM {{schema}}.job_lanes AS x WHERE x.grp <> ALL (v_passed) ORDER BY x.turn, x.grp LOOP
        v_scanned := v_scanned + 1;
        EXIT WHEN v_scanned >= 1000;
        v_id := NULL;
        IF r.grp = '' THEN
          SELECT d.id INTO v_id FROM {{schema}}.jobs AS d
           WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
             AND d.name = ANY (v_ok) AND d.timeout_ms <= p_max_timeout_ms AND d.job_group IS NULL
           ORDER BY d.priority DESC, d.run_at, d.seq LIMIT 1 FOR UPDATE SKIP LOCKED;
        ELSE
          SELECT pg_catalog.count(*) INTO v_live FROM {{schema}}.jobs AS a
           WHERE a.job_group = r.grp AND a.state = 'active' AND a.lease_until >= p_now;
          IF v_live >= p_group_concurrency THEN
            IF NOT v_held AND EXISTS (SELECT 1 FROM {{schema}}.jobs AS d
                 WHERE d.job_group = r.grp AND d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
                   AND d.name = ANY (p_names)) THEN
              v_held := true;
            END IF;
          ELSE
            SELECT d.id INTO v_id FROM {{schema}}.jobs AS d
             WHERE d.job_group = r.grp AND d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
               AND d.name = ANY (v_ok) AND d.timeout_ms <= p_max_timeout_ms
             ORDER BY d.priority DESC, d.run_at, d.seq LIMIT 1 FOR UPDATE SKIP LOCKED;
            IF v_id IS NULL AND NOT EXISTS (SELECT 1 FROM {{schema}}.jobs AS u
                 WHERE u.job_group = r.grp AND u.state IN ('waiting', 'delayed', 'partial', 'active')) THEN
              DELETE FROM {{schema}}.job_lanes AS x WHERE x.grp = r.grp;
            END IF;
          END IF;
        END IF;
        IF v_id IS NULL THEN
          v_passed := v_passed || r.grp;
          CONTINUE;
        END IF;
        UPDATE {{schema}}.jobs AS j
           SET state = 'active', lease_token = p_token, lease_until = p_now + p_lease_ms, attempts = j.attempts + 1,
               started_at = CASE WHEN p_started THEN p_now END, updated_at = p_now
         WHERE j.id = v_id
        RETURNING j.* INTO v_row;
        UPDATE {{schema}}.job_lanes AS x SET turn = pg_catalog.nextval('{{schema}}.job_turn_seq') WHERE x.grp = r.grp;
        job := v_row; held_back := NULL; retry_at := NULL;
        RETURN NEXT;
        v_taken := v_taken + 1;
        v_k := pg_catalog.array_position(v_lim, v_row.name);
        IF v_k IS NOT NULL THEN
          v_room[v_k] := v_room[v_k] - 1;
          IF v_room[v_k] <= 0 THEN v_ok := pg_catalog.array_remove(v_ok, v_row.name); END IF;
          INSERT INTO {{schema}}.job_starts (name, at)
          SELECT v_row.name, p_now FROM {{schema}}.job_limits AS x WHERE x.name = v_row.name AND x.rate_max IS NOT NULL;
        END IF;
        v_found := true;
        EXIT;
      END LOOP;
      EXIT WHEN NOT v_found;
    END IF;
  END LOOP;

  IF v_taken >= p_limit THEN RETURN; END IF;
  -- The hint: names a limit held back that still have due jobs (grouped ones only for group claims).
  FOR l IN SELECT x.* FROM {{schema}}.job_limits AS x
            WHERE x.name = ANY (p_names) AND x.name <> ALL (v_ok) ORDER BY x.name LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM {{schema}}.jobs AS d
      WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now AND d.name = l.name
        AND (p_group_concurrency IS NOT NULL OR d.job_group IS NULL));
    v_held := true;
    CONTINUE WHEN p_ahead OR l.rate_max IS NULL;
    IF l.concurrency IS NOT NULL THEN
      SELECT l.concurrency - pg_catalog.count(*) INTO v_by_c FROM {{schema}}.jobs AS a
       WHERE a.state = 'active' AND a.lease_until >= p_now AND a.name = l.name;
      CONTINUE WHEN v_by_c <= 0;
    END IF;
    SELECT pg_catalog.count(*) INTO v_cnt FROM {{schema}}.job_starts AS s WHERE s.name = l.name AND s.at > p_now - l.rate_per_ms;
    CONTINUE WHEN v_cnt < l.rate_max;
    SELECT s.at + l.rate_per_ms INTO v_at FROM {{schema}}.job_starts AS s
     WHERE s.name = l.name AND s.at > p_now - l.rate_per_ms ORDER BY s.at OFFSET v_cnt - l.rate_max LIMIT 1;
    IF v_retry IS NULL OR v_at < v_retry THEN v_retry := v_at; END IF;
  END LOOP;
  IF v_held THEN
    job := NULL; held_back := true; retry_at := v_retry;
    RETURN NEXT;
  END IF;
END $$;

-- The claim of 002, now with the fleet rules. Rows as job_claim_fleet's; without limits on its
-- names and without p_group_concurrency it is the plain ordered SKIP LOCKED claim (no hint row).
DROP FUNCTION IF EXISTS {{schema}}.job_claim(text[], integer, double precision, text, double precision, double precision, text);
CREATE OR REPLACE FUNCTION {{schema}}.job_claim(
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_now double precision, p_waiter text DEFAULT NULL, p_group_concurrency integer DEFAULT NULL)
RETURNS TABLE (job {{schema}}.jobs, held_back boolean, retry_at double precision)
LANGUAGE plpgsql SECURITY INVOKER
SET enable_bitmapscan = off
AS $$
DECLARE
  v_n integer;
BEGIN
  IF p_group_concurrency IS NULL AND NOT EXISTS (SELECT 1 FROM {{schema}}.job_limits AS l WHERE l.name = ANY (p_names)) THEN
    RETURN QUERY
    UPDATE {{schema}}.jobs AS j
       SET state = 'active', lease_token = p_token, lease_until = p_now + p_lease_ms, attempts = j.attempts + 1,
           started_at = p_now, updated_at = p_now
      FROM (SELECT d.id FROM {{schema}}.jobs AS d
             WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
               AND d.name = ANY (p_names) AND d.timeout_ms <= p_max_timeout_ms AND d.job_group IS NULL
             ORDER BY d.priority DESC, d.run_at, d.seq
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) AS c
     WHERE j.id = c.id
    RETURNING j, NULL::boolean, NULL::double precision;
    GET DIAGNOSTICS v_n = ROW_COUNT;
  ELSE
    RETURN QUERY SELECT * FROM {{schema}}.job_claim_fleet(p_names, p_limit, p_max_timeout_ms, p_token, p_lease_ms, p_now, true,
                                                          p_group_concurrency, false);
    GET DIAGNOSTICS v_n = ROW_COUNT;
  END IF;
  IF p_waiter IS NULL THEN RETURN; END IF;
  IF v_n < p_limit THEN
    INSERT INTO {{schema}}.job_waiters AS w (worker, names, until) VALUES (p_waiter, p_names, p_now + 30000)
    ON CONFLICT (worker) DO UPDATE SET names = excluded.names, until = excluded.until
      WHERE w.until < p_now + 15000 OR w.names IS DISTINCT FROM excluded.names;
  END IF;
END $$;

-- Wake-ups for jobs that stopped being live, when limits or groups may be waiting for them.
CREATE OR REPLACE FUNCTION {{schema}}.job_freed(p_names text[], p_groups text[], p_now double precision)
RETURNS void LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_groups) AS g WHERE g IS NOT NULL)
     OR EXISTS (SELECT 1 FROM {{schema}}.job_limits AS l WHERE l.name = ANY (p_names) AND l.concurrency IS NOT NULL) THEN
    PERFORM {{schema}}.job_fleet_wake(p_names, p_groups, p_now);
  END IF;
END $$;

-- After completions: the wake-ups of job_freed for the jobs p_ids, looked up only while some name
-- has a concurrency limit or some group has a lane (so a queue without limits and groups pays two
-- probes of tiny tables per batch, not a lookup per job).
CREATE OR REPLACE FUNCTION {{schema}}.job_freed_ids(p_ids text[], p_now double precision)
RETURNS void LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_names text[];
  v_groups text[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM {{schema}}.job_limits AS l WHERE l.concurrency IS NOT NULL)
     AND NOT EXISTS (SELECT 1 FROM {{schema}}.job_lanes AS x WHERE x.grp <> '') THEN
    RETURN;
  END IF;
  SELECT pg_catalog.array_agg(DISTINCT j.name), COALESCE(pg_catalog.array_agg(DISTINCT j.job_group) FILTER (WHERE j.job_group IS NOT NULL), '{}')
    INTO v_names, v_groups FROM {{schema}}.jobs AS j WHERE j.id = ANY (p_ids);
  IF v_names IS NOT NULL THEN PERFORM {{schema}}.job_freed(v_names, v_groups, p_now); END IF;
END $$;

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
  PERFORM {{schema}}.job_freed_ids(p_ids, p_now);
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_complete(p_id text, p_token text, p_result text, p_now double precision)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  SELECT EXISTS (SELECT 1 FROM {{schema}}.job_complete_many(ARRAY[p_id], ARRAY[p_token], ARRAY[p_result], p_now))
$$;

DROP FUNCTION IF EXISTS {{schema}}.job_complete_claim(text[], text[], text[], double precision, text[], integer, double precision, text, double precision);
CREATE OR REPLACE FUNCTION {{schema}}.job_complete_claim(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision,
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision)
RETURNS TABLE (done_id text, done_token text, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  RETURN QUERY SELECT c.id, c.token, NULL::{{schema}}.jobs FROM {{schema}}.job_complete_many(p_ids, p_tokens, p_results, p_now) AS c;
  IF p_limit > 0 THEN
    RETURN QUERY SELECT NULL::text, NULL::text, c.job
      FROM {{schema}}.job_claim(p_names, p_limit, p_max_timeout_ms, p_token, p_lease_ms, p_now) AS c WHERE (c.job).id IS NOT NULL;
  END IF;
END $$;

-- A long-running worker's call (002), with the fleet rules: rows done_id/done_token per accepted
-- completion, then the jobs claimed, then at most one hint row (everything NULL but the hint).
-- The completions' wake-ups are decided after the claim.
DROP FUNCTION IF EXISTS {{schema}}.job_worker_batch(text[], text[], text[], double precision, text[], text[], double precision[], text[], integer, double precision, text, double precision, text);
CREATE OR REPLACE FUNCTION {{schema}}.job_worker_batch(
  p_ids text[], p_tokens text[], p_results text[], p_now double precision,
  p_started_ids text[], p_started_tokens text[], p_started_at double precision[],
  p_names text[], p_limit integer, p_max_timeout_ms double precision, p_token text, p_lease_ms double precision,
  p_waiter text, p_group_concurrency integer DEFAULT NULL, p_ahead boolean DEFAULT false)
RETURNS TABLE (done_id text, done_token text, job {{schema}}.jobs, held_back boolean, retry_at double precision)
LANGUAGE plpgsql SECURITY INVOKER
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
    RETURN QUERY
    UPDATE {{schema}}.jobs AS j
       SET state = 'completed', result = c.result, missing = NULL, progress = 100, finished_at = p_now,
           updated_at = p_now, lease_token = NULL, lease_until = NULL, started_at = COALESCE(j.started_at, p_now)
      FROM ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_tokens), pg_catalog.unnest(p_results)) AS c(id, token, result)
     WHERE j.id = c.id AND j.lease_token = c.token AND j.state = 'active'
    RETURNING j.id, c.token, NULL::{{schema}}.jobs, NULL::boolean, NULL::double precision;
  END IF;
  IF p_limit > 0 THEN
    IF p_group_concurrency IS NULL AND NOT EXISTS (SELECT 1 FROM {{schema}}.job_limits AS l WHERE l.name = ANY (p_names)) THEN
      RETURN QUERY
      UPDATE {{schema}}.jobs AS j
         SET state = 'active', lease_token = p_token, lease_until = p_now + p_lease_ms, attempts = j.attempts + 1,
             started_at = NULL, updated_at = p_now
        FROM (SELECT d.id FROM {{schema}}.jobs AS d
               WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now
                 AND d.name = ANY (p_names) AND d.timeout_ms <= p_max_timeout_ms AND d.job_group IS NULL
               ORDER BY d.priority DESC, d.run_at, d.seq
               LIMIT p_limit
               FOR UPDATE SKIP LOCKED) AS c
       WHERE j.id = c.id
      RETURNING NULL::text, NULL::text, j, NULL::boolean, NULL::double precision;
      GET DIAGNOSTICS v_n = ROW_COUNT;
    ELSE
      RETURN QUERY SELECT NULL::text, NULL::text, f.job, f.held_back, f.retry_at
        FROM {{schema}}.job_claim_fleet(p_names, p_limit, p_max_timeout_ms, p_token, p_lease_ms, p_now, false,
                                        p_group_concurrency, p_ahead) AS f;
      GET DIAGNOSTICS v_n = ROW_COUNT;
    END IF;
  END IF;
  IF pg_catalog.cardinality(p_ids) > 0 THEN PERFORM {{schema}}.job_freed_ids(p_ids, p_now); END IF;
  IF p_waiter IS NOT NULL AND v_n < p_limit THEN
    INSERT INTO {{schema}}.job_waiters AS w (worker, names, until) VALUES (p_waiter, p_names, p_now + 30000)
    ON CONFLICT (worker) DO UPDATE SET names = excluded.names, until = excluded.until
      WHERE w.until < p_now + 15000 OR w.names IS DISTINCT FROM excluded.names;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_partial(
  p_id text, p_token text, p_result text, p_missing text, p_retry_at double precision, p_now double precision,
  p_final_error text DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
  v_grp text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET result = p_result, missing = p_missing, updated_at = p_now, lease_token = NULL, lease_until = NULL,
         state = CASE WHEN p_final_error IS NULL THEN 'partial' ELSE 'failed' END,
         run_at = CASE WHEN p_final_error IS NULL THEN p_retry_at ELSE j.run_at END,
         error = COALESCE(p_final_error, j.error),
         finished_at = CASE WHEN p_final_error IS NULL THEN NULL ELSE p_now END,
         started_at = COALESCE(j.started_at, p_now)
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name, j.job_group INTO v_name, v_grp;
  IF NOT FOUND THEN RETURN false; END IF;
  IF p_final_error IS NULL AND p_retry_at <= p_now THEN PERFORM {{schema}}.job_wake(v_name); END IF;
  PERFORM {{schema}}.job_freed(ARRAY[v_name], ARRAY[v_grp], p_now);
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_fail(
  p_id text, p_token text, p_error text, p_retry_at double precision, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
  v_grp text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET error = p_error, updated_at = p_now, lease_token = NULL, lease_until = NULL,
         state = CASE WHEN p_retry_at IS NULL THEN 'failed' WHEN p_retry_at <= p_now THEN 'waiting' ELSE 'delayed' END,
         run_at = COALESCE(p_retry_at, j.run_at),
         finished_at = CASE WHEN p_retry_at IS NULL THEN p_now ELSE NULL END,
         started_at = COALESCE(j.started_at, p_now)
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name, j.job_group INTO v_name, v_grp;
  IF NOT FOUND THEN RETURN false; END IF;
  IF p_retry_at IS NOT NULL AND p_retry_at <= p_now THEN PERFORM {{schema}}.job_wake(v_name); END IF;
  PERFORM {{schema}}.job_freed(ARRAY[v_name], ARRAY[v_grp], p_now);
  RETURN true;
END $$;

-- Release and hand-back already wake the job's name; a group's other names are woken too.
CREATE OR REPLACE FUNCTION {{schema}}.job_release(p_id text, p_token text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
  v_grp text;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET state = 'waiting', run_at = LEAST(j.run_at, p_now), attempts = GREATEST(j.attempts - 1, 0), updated_at = p_now,
         lease_token = NULL, lease_until = NULL
   WHERE j.id = p_id AND j.state = 'active' AND j.lease_token = p_token
  RETURNING j.name, j.job_group INTO v_name, v_grp;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM {{schema}}.job_wake(v_name);
  IF v_grp IS NOT NULL THEN PERFORM {{schema}}.job_freed(ARRAY[v_name], ARRAY[v_grp], p_now); END IF;
  RETURN true;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_retry(p_id text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
  v_grp text;
  v_was text;
BEGIN
  SELECT j.job_group, j.state INTO v_grp, v_was FROM {{schema}}.jobs AS j WHERE j.id = p_id;
  IF v_grp IS NOT NULL AND v_was IN ('failed', 'cancelled') THEN
    PERFORM {{schema}}.job_lanes_lock(false);
    PERFORM {{schema}}.job_lanes_join(ARRAY[v_grp], ARRAY[p_id]);
  END IF;
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
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_name text;
  v_grp text;
  v_live boolean;
BEGIN
  UPDATE {{schema}}.jobs AS j
     SET state = 'cancelled', finished_at = p_now, updated_at = p_now, lease_token = NULL, lease_until = NULL
    FROM (SELECT o.id, o.state = 'active' AND o.lease_until >= p_now AS live FROM {{schema}}.jobs AS o
           WHERE o.id = p_id FOR UPDATE) AS o
   WHERE j.id = o.id AND j.state IN ('waiting', 'delayed', 'partial', 'active')
  RETURNING j.name, j.job_group, o.live INTO v_name, v_grp, v_live;
  IF NOT FOUND THEN RETURN false; END IF;
  IF v_live THEN PERFORM {{schema}}.job_freed(ARRAY[v_name], ARRAY[v_grp], p_now); END IF;
  RETURN true;
END $$;

-- Bulk add: the jobs of one addMany chunk as parallel arrays, in order. Rows: one per job, in
-- order, as job_add answers (created, replaced, job). Without debounce ids it is one INSERT … SELECT:
-- an id repeated in the call is inserted once (its first job) and answers the stored job after.
-- There a created job comes back as NULL: it is exactly what the caller sent (state from run_at,
-- times = p_now), and not echoing every payload halves what the statement moves.
CREATE OR REPLACE FUNCTION {{schema}}.job_add_many(
  p_ids text[], p_names text[], p_payloads text[], p_priorities integer[], p_run_ats double precision[],
  p_max_attempts integer[], p_backoffs text[], p_timeouts double precision[], p_retry_untils double precision[],
  p_groups text[], p_debounces text[], p_now double precision, p_notify boolean DEFAULT true)
RETURNS TABLE (created boolean, replaced boolean, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_grouped boolean := EXISTS (SELECT 1 FROM pg_catalog.unnest(p_groups) AS g WHERE g IS NOT NULL);
  v_due text[];
  v_name text;
  v_i integer;
  v_n integer;
  v_created text[];
BEGIN
  IF v_grouped THEN PERFORM {{schema}}.job_lanes_lock(false); END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.unnest(p_debounces) AS d WHERE d IS NOT NULL) THEN
    FOR v_i IN 1 .. COALESCE(pg_catalog.cardinality(p_ids), 0) LOOP
      RETURN QUERY SELECT * FROM {{schema}}.job_add(p_ids[v_i], p_names[v_i], p_payloads[v_i], p_priorities[v_i], p_run_ats[v_i],
        p_max_attempts[v_i], p_backoffs[v_i], p_timeouts[v_i], p_retry_untils[v_i], p_now, p_notify, p_groups[v_i], p_debounces[v_i]);
    END LOOP;
    RETURN;
  END IF;
  IF v_grouped THEN
    SELECT pg_catalog.array_agg(g.grp ORDER BY g.first) INTO v_due
      FROM (SELECT x.grp, pg_catalog.min(x.ord) AS first
              FROM ROWS FROM (pg_catalog.unnest(p_groups)) WITH ORDINALITY AS x(grp, ord)
             WHERE x.grp IS NOT NULL GROUP BY x.grp) AS g;
    PERFORM {{schema}}.job_lanes_join(v_due, p_ids);
  END IF;
  -- unnest yields the jobs in order, so seq (insertion order) follows the call's order.
  WITH ins AS (
    INSERT INTO {{schema}}.jobs AS j (id, name, state, payload, priority, run_at, max_attempts, backoff, timeout_ms,
                                      retry_until, created_at, updated_at, job_group)
    SELECT i.id, i.name, CASE WHEN i.run_at <= p_now THEN 'waiting' ELSE 'delayed' END, i.payload, i.priority, i.run_at,
           i.max_attempts, i.backoff, i.timeout_ms, i.retry_until, p_now, p_now, i.grp
      FROM ROWS FROM (pg_catalog.unnest(p_ids), pg_catalog.unnest(p_names), pg_catalog.unnest(p_payloads),
                      pg_catalog.unnest(p_priorities), pg_catalog.unnest(p_run_ats), pg_catalog.unnest(p_max_attempts),
                      pg_catalog.unnest(p_backoffs), pg_catalog.unnest(p_timeouts), pg_catalog.unnest(p_retry_untils),
                      pg_catalog.unnest(p_groups))
        AS i(id, name, payload, priority, run_at, max_attempts, backoff, timeout_ms, retry_until, grp)
    ON CONFLICT (id) DO NOTHING
    RETURNING j.id)
  SELECT COALESCE(pg_catalog.array_agg(ins.id), '{}') INTO v_created FROM ins;
  v_n := pg_catalog.cardinality(v_created);
  IF v_n = pg_catalog.cardinality(p_ids) THEN
    -- Every job created (the usual case): nothing to look up.
    RETURN QUERY SELECT true, false, NULL::{{schema}}.jobs FROM pg_catalog.generate_series(1, v_n);
  ELSE
    -- Some ids existed (or repeated): the first job of each id created now answers NULL, every
    -- other job the stored row.
    RETURN QUERY
    SELECT c.fresh, false, CASE WHEN c.fresh THEN NULL ELSE o END
      FROM (SELECT i.id, i.ord, i.id = ANY (v_created) AND i.ord = pg_catalog.min(i.ord) OVER (PARTITION BY i.id) AS fresh
              FROM ROWS FROM (pg_catalog.unnest(p_ids)) WITH ORDINALITY AS i(id, ord)) AS c
      LEFT JOIN {{schema}}.jobs AS o ON o.id = c.id
     ORDER BY c.ord;
  END IF;
  IF p_notify AND EXISTS (SELECT 1 FROM {{schema}}.job_waiters AS w WHERE w.until > p_now) THEN
    FOR v_name IN
      SELECT DISTINCT x.name FROM ROWS FROM (pg_catalog.unnest(p_names), pg_catalog.unnest(p_run_ats)) AS x(name, run_at)
       WHERE x.run_at <= p_now
         AND EXISTS (SELECT 1 FROM {{schema}}.job_waiters AS w WHERE w.until > p_now AND x.name = ANY (w.names))
    LOOP
      PERFORM {{schema}}.job_wake(v_name);
    END LOOP;
  END IF;
END $$;

-- One job (002's job_add), with a group and a debounce id: a job most recently created under
-- (name, debounce id) that never ran is updated in place (replaced) instead of adding one.
DROP FUNCTION IF EXISTS {{schema}}.job_add(text, text, text, integer, double precision, integer, text, double precision, double precision, double precision, boolean);
CREATE OR REPLACE FUNCTION {{schema}}.job_add(
  p_id text, p_name text, p_payload text, p_priority integer, p_run_at double precision, p_max_attempts integer,
  p_backoff text, p_timeout_ms double precision, p_retry_until double precision, p_now double precision,
  p_notify boolean DEFAULT true, p_group text DEFAULT NULL, p_debounce text DEFAULT NULL)
RETURNS TABLE (created boolean, replaced boolean, job {{schema}}.jobs)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_row {{schema}}.jobs;
  v_did text;
  v_old text;
  v_replaced boolean := false;
BEGIN
  IF p_group IS NOT NULL THEN PERFORM {{schema}}.job_lanes_lock(false); END IF;
  IF p_debounce IS NOT NULL THEN
    SELECT d.id INTO v_did FROM {{schema}}.job_debounce AS d WHERE d.name = p_name AND d.key = p_debounce FOR UPDATE;
    IF FOUND THEN
      SELECT j.job_group INTO v_old FROM {{schema}}.jobs AS j WHERE j.id = v_did;
      IF p_group IS NOT NULL AND v_old IS DISTINCT FROM p_group THEN
        PERFORM {{schema}}.job_lanes_join(ARRAY[p_group], ARRAY[v_did]);
      END IF;
      UPDATE {{schema}}.jobs AS j
         SET payload = p_payload, priority = p_priority, run_at = p_run_at, max_attempts = p_max_attempts, backoff = p_backoff,
             timeout_ms = p_timeout_ms, retry_until = p_retry_until, job_group = p_group, updated_at = p_now,
             state = CASE WHEN p_run_at <= p_now THEN 'waiting' ELSE 'delayed' END
       WHERE j.id = v_did AND j.state IN ('waiting', 'delayed') AND j.attempts = 0
      RETURNING * INTO v_row;
      v_replaced := FOUND;
    END IF;
  END IF;
  IF NOT v_replaced THEN
    IF p_group IS NOT NULL THEN PERFORM {{schema}}.job_lanes_join(ARRAY[p_group], ARRAY[p_id]); END IF;
    INSERT INTO {{schema}}.jobs (id, name, state, payload, priority, run_at, max_attempts, backoff, timeout_ms,
                                 retry_until, created_at, updated_at, job_group)
    VALUES (p_id, p_name, CASE WHEN p_run_at <= p_now THEN 'waiting' ELSE 'delayed' END, p_payload, p_priority,
            p_run_at, p_max_attempts, p_backoff, p_timeout_ms, p_retry_until, p_now, p_now, p_group)
    ON CONFLICT (id) DO NOTHING
    RETURNING * INTO v_row;
    IF NOT FOUND THEN
      RETURN QUERY SELECT false, false, j FROM {{schema}}.jobs AS j WHERE j.id = p_id;
      RETURN;
    END IF;
    IF p_debounce IS NOT NULL THEN
      INSERT INTO {{schema}}.job_debounce AS d (name, key, id) VALUES (p_name, p_debounce, p_id)
      ON CONFLICT (name, key) DO UPDATE SET id = excluded.id;
    END IF;
  END IF;
  IF v_row.state = 'waiting' AND p_notify
     AND EXISTS (SELECT 1 FROM {{schema}}.job_waiters AS w WHERE w.until > p_now AND p_name = ANY (w.names)) THEN
    PERFORM {{schema}}.job_wake(p_name);
  END IF;
  RETURN QUERY SELECT NOT v_replaced, v_replaced, v_row;
END $$;

-- Jobs per state of p_name (all names when NULL): the counters, with the delayed jobs already due
-- moved to `waiting` (an index range of those jobs only).
CREATE OR REPLACE FUNCTION {{schema}}.job_counts(p_name text, p_now double precision)
RETURNS TABLE (state text, n bigint)
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  WITH due AS (
    SELECT pg_catalog.count(*) AS n FROM {{schema}}.jobs AS d
     WHERE d.state = 'delayed' AND d.run_at <= p_now AND (p_name IS NULL OR d.name = p_name)),
  c AS (
    SELECT c.state, pg_catalog.sum(c.n)::bigint AS n FROM {{schema}}.job_counts AS c
     WHERE p_name IS NULL OR c.name = p_name GROUP BY c.state)
  SELECT c.state, c.n + CASE c.state WHEN 'waiting' THEN due.n WHEN 'delayed' THEN -due.n ELSE 0 END FROM c, due
  UNION ALL
  SELECT 'waiting', due.n FROM due WHERE NOT EXISTS (SELECT 1 FROM c WHERE c.state = 'waiting')
$$;

-- Limits: p_entries is a JSON array of {"name", "limit": null | {"concurrency", "rate": {"max", "perMs"}}}.
-- Returns how many entries it wrote.
CREATE OR REPLACE FUNCTION {{schema}}.job_set_limits(p_entries jsonb, p_now double precision)
RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  e jsonb;
BEGIN
  FOR e IN SELECT x FROM pg_catalog.jsonb_array_elements(p_entries) AS x LOOP
    IF e -> 'limit' IS NULL OR pg_catalog.jsonb_typeof(e -> 'limit') = 'null' THEN
      DELETE FROM {{schema}}.job_limits AS l WHERE l.name = e ->> 'name';
    ELSE
      INSERT INTO {{schema}}.job_limits AS l (name, concurrency, rate_max, rate_per_ms)
      VALUES (e ->> 'name', (e -> 'limit' ->> 'concurrency')::integer, (e -> 'limit' -> 'rate' ->> 'max')::integer,
              (e -> 'limit' -> 'rate' ->> 'perMs')::double precision)
      ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency, rate_max = excluded.rate_max,
                                       rate_per_ms = excluded.rate_per_ms;
    END IF;
    IF EXISTS (SELECT 1 FROM {{schema}}.jobs AS d
                WHERE d.state IN ('waiting', 'delayed', 'partial') AND d.run_at <= p_now AND d.name = e ->> 'name') THEN
      PERFORM {{schema}}.job_wake(e ->> 'name');
    END IF;
  END LOOP;
  RETURN pg_catalog.jsonb_array_length(p_entries);
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.job_get_limits()
RETURNS TABLE (name text, concurrency integer, rate_max integer, rate_per_ms double precision)
LANGUAGE sql STABLE SECURITY INVOKER
AS $$ SELECT l.name, l.concurrency, l.rate_max, l.rate_per_ms FROM {{schema}}.job_limits AS l ORDER BY l.name $$;

-- Retention (002's), which also folds the counter rows of other backends into row 0 and forgets
-- debounce keys whose job is gone.
CREATE OR REPLACE FUNCTION {{schema}}.job_remove_finished(p_states text[], p_before double precision, p_limit integer)
RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_n bigint;
BEGIN
  WITH d AS (
    DELETE FROM {{schema}}.jobs AS j
     WHERE j.id IN (SELECT f.id FROM {{schema}}.jobs AS f
                     WHERE f.state = ANY (p_states) AND f.state IN ('completed', 'failed', 'cancelled')
                       AND f.finished_at < p_before
                     LIMIT p_limit
                     FOR UPDATE SKIP LOCKED)
    RETURNING j.id),
  r AS (DELETE FROM {{schema}}.job_ahead_returns AS r WHERE r.id IN (SELECT d.id FROM d)),
  b AS (DELETE FROM {{schema}}.job_debounce AS b WHERE b.id IN (SELECT d.id FROM d))
  SELECT pg_catalog.count(*) INTO v_n FROM d;
  WITH f AS (
    DELETE FROM {{schema}}.job_counts AS c
     WHERE c.ctid IN (SELECT x.ctid FROM {{schema}}.job_counts AS x WHERE x.shard <> 0 FOR UPDATE SKIP LOCKED)
    RETURNING c.name, c.state, c.n)
  INSERT INTO {{schema}}.job_counts AS c (name, state, shard, n)
  SELECT f.name, f.state, 0, pg_catalog.sum(f.n) FROM f GROUP BY f.name, f.state ORDER BY f.name, f.state
  ON CONFLICT (name, state, shard) DO UPDATE SET n = c.n + excluded.n;
  DELETE FROM {{schema}}.job_counts AS c WHERE c.shard = 0 AND c.n = 0;
  RETURN v_n;
END $$;

-- Semaphore: one call each, serialized per name by an advisory lock (a holder row may not exist yet).
CREATE OR REPLACE FUNCTION {{schema}}.semaphore_acquire(
  p_name text, p_token text, p_limit integer, p_lease_ms double precision, p_now double precision)
RETURNS TABLE (ok boolean, retry_in_ms double precision)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_live bigint;
  v_first double precision;
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('botwire:sem:{{schema}}:' || p_name, 0));
  UPDATE {{schema}}.semaphore_holders AS h SET until = p_now + p_lease_ms WHERE h.name = p_name AND h.token = p_token;
  IF FOUND THEN RETURN QUERY SELECT true, NULL::double precision; RETURN; END IF;
  DELETE FROM {{schema}}.semaphore_holders AS h WHERE h.name = p_name AND h.until < p_now;
  SELECT pg_catalog.count(*), pg_catalog.min(h.until) INTO v_live, v_first FROM {{schema}}.semaphore_holders AS h WHERE h.name = p_name;
  IF v_live >= p_limit THEN
    RETURN QUERY SELECT false, GREATEST(1, v_first + 1 - p_now);
    RETURN;
  END IF;
  INSERT INTO {{schema}}.semaphore_holders (name, token, until) VALUES (p_name, p_token, p_now + p_lease_ms);
  RETURN QUERY SELECT true, NULL::double precision;
END $$;

CREATE OR REPLACE FUNCTION {{schema}}.semaphore_extend(p_name text, p_token text, p_lease_ms double precision, p_now double precision)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH u AS (UPDATE {{schema}}.semaphore_holders AS h SET until = p_now + p_lease_ms
              WHERE h.name = p_name AND h.token = p_token RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM u)
$$;

-- A release notifies 'botwire_semaphore' with '<quoted schema>:<name>' for waiters in other processes.
CREATE OR REPLACE FUNCTION {{schema}}.semaphore_release(p_name text, p_token text, p_now double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
BEGIN
  DELETE FROM {{schema}}.semaphore_holders AS h WHERE h.name = p_name AND h.token = p_token;
  IF NOT FOUND THEN RETURN false; END IF;
  PERFORM pg_catalog.pg_notify('botwire_semaphore', '{{schema}}:' || p_name);
  RETURN true;
END $$;

-- Lockdown (the rule: 001_sessions.sql's header), for what this migration created or replaced.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  FOREACH v_obj IN ARRAY ARRAY['{{schema}}.job_limits', '{{schema}}.job_starts', '{{schema}}.job_lanes',
                               '{{schema}}.job_debounce', '{{schema}}.job_counts', '{{schema}}.semaphore_holders'] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s', v_obj::regclass, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO service_role', v_obj::regclass);
    END IF;
  END LOOP;
  EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %s', '{{schema}}.job_turn_seq'::regclass, v_from);
  IF v_service THEN
    EXECUTE pg_catalog.format('GRANT USAGE, SELECT ON SEQUENCE %s TO service_role', '{{schema}}.job_turn_seq'::regclass);
  END IF;
  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.job_counts_ins()',
    '{{schema}}.job_counts_upd()',
    '{{schema}}.job_counts_del()',
    '{{schema}}.job_lanes_lock(boolean)',
    '{{schema}}.job_lanes_join(text[], text[])',
    '{{schema}}.job_fleet_wake(text[], text[], double precision)',
    '{{schema}}.job_claim_fleet(text[], integer, double precision, text, double precision, double precision, boolean, integer, boolean)',
    '{{schema}}.job_claim(text[], integer, double precision, text, double precision, double precision, text, integer)',
    '{{schema}}.job_freed(text[], text[], double precision)',
    '{{schema}}.job_freed_ids(text[], double precision)',
    '{{schema}}.job_complete_many(text[], text[], text[], double precision)',
    '{{schema}}.job_complete(text, text, text, double precision)',
    '{{schema}}.job_complete_claim(text[], text[], text[], double precision, text[], integer, double precision, text, double precision)',
    '{{schema}}.job_worker_batch(text[], text[], text[], double precision, text[], text[], double precision[], text[], integer, double precision, text, double precision, text, integer, boolean)',
    '{{schema}}.job_partial(text, text, text, text, double precision, double precision, text)',
    '{{schema}}.job_fail(text, text, text, double precision, double precision)',
    '{{schema}}.job_release(text, text, double precision)',
    '{{schema}}.job_retry(text, double precision)',
    '{{schema}}.job_cancel(text, double precision)',
    '{{schema}}.job_add_many(text[], text[], text[], integer[], double precision[], integer[], text[], double precision[], double precision[], text[], text[], double precision, boolean)',
    '{{schema}}.job_add(text, text, text, integer, double precision, integer, text, double precision, double precision, double precision, boolean, text, text)',
    '{{schema}}.job_counts(text, double precision)',
    '{{schema}}.job_set_limits(jsonb, double precision)',
    '{{schema}}.job_get_limits()',
    '{{schema}}.job_remove_finished(text[], double precision, integer)',
    '{{schema}}.semaphore_acquire(text, text, integer, double precision, double precision)',
    '{{schema}}.semaphore_extend(text, text, double precision, double precision)',
    '{{schema}}.semaphore_release(text, text, double precision)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
