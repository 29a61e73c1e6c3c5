-- 004_rate_limit: atomic per-window counters for rateLimit(), one function call per hit.
-- Same conventions as 001_sessions (RLS without policies, SECURITY INVOKER, no SET search_path,
-- server clock). One row per limiter key: w = window number, c = hits in window w, p = hits in w-1.
-- Denied hits are not counted. Rows older than two windows are dead weight only; rate_limit_cleanup
-- removes them in batches.

CREATE TABLE IF NOT EXISTS {{schema}}.rate_limits (
  key        text PRIMARY KEY,
  w          bigint NOT NULL,
  c          integer NOT NULL,
  p          integer NOT NULL,
  expires_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS rate_limits_expires_at_idx ON {{schema}}.rate_limits (expires_at);

ALTER TABLE {{schema}}.rate_limits ENABLE ROW LEVEL SECURITY;

CREATE OR REPLACE FUNCTION {{schema}}.rate_limit_hit(p_key text, p_limit integer, p_window_ms double precision, p_sliding boolean)
RETURNS TABLE (allowed boolean, hits integer, reset_ms double precision)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  v_now double precision := pg_catalog.floor(EXTRACT(EPOCH FROM pg_catalog.clock_timestamp()) * 1000);
  v_w bigint := pg_catalog.floor(v_now / p_window_ms)::bigint;
  v_row {{schema}}.rate_limits%ROWTYPE;
  v_cur integer := 0;
  v_prev integer := 0;
  v_elapsed double precision;
  v_est integer;
BEGIN
  -- Make sure the row exists, then lock it: concurrent hits for one key queue here.
  INSERT INTO {{schema}}.rate_limits AS r (key, w, c, p, expires_at)
  VALUES (p_key, v_w, 0, 0, pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => 2 * p_window_ms / 1000))
  ON CONFLICT (key) DO NOTHING;
  SELECT * INTO v_row FROM {{schema}}.rate_limits AS r WHERE r.key = p_key FOR UPDATE;
  IF v_row.w = v_w THEN
    v_cur := v_row.c;
    v_prev := v_row.p;
  ELSIF v_row.w = v_w - 1 THEN
    v_prev := v_row.c;
  END IF;
  v_elapsed := v_now - v_w * p_window_ms;
  v_est := v_cur;
  IF p_sliding THEN
    v_est := pg_catalog.floor(v_prev * (p_window_ms - v_elapsed) / p_window_ms)::integer + v_cur;
  END IF;
  IF v_est >= p_limit THEN
    RETURN QUERY SELECT false, v_est, p_window_ms - v_elapsed;
    RETURN;
  END IF;
  UPDATE {{schema}}.rate_limits AS r
  SET w = v_w, c = v_cur + 1, p = v_prev,
      expires_at = pg_catalog.clock_timestamp() + pg_catalog.make_interval(secs => 2 * p_window_ms / 1000)
  WHERE r.key = p_key;
  RETURN QUERY SELECT true, v_est + 1, p_window_ms - v_elapsed;
END
$$;

-- Delete up to p_limit counters whose windows are over; returns how many.
CREATE OR REPLACE FUNCTION {{schema}}.rate_limit_cleanup(p_limit integer)
RETURNS integer
LANGUAGE sql VOLATILE SECURITY INVOKER
AS $$
  WITH gone AS (
    DELETE FROM {{schema}}.rate_limits AS r
    WHERE r.key IN (SELECT x.key FROM {{schema}}.rate_limits AS x WHERE x.expires_at <= pg_catalog.now() LIMIT p_limit)
    RETURNING 1
  )
  SELECT pg_catalog.count(*)::integer FROM gone
$$;

-- Lockdown (the rule: 001_sessions.sql's header). Nobody but the owner and Supabase's service_role
-- may read the table or call the functions.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s', '{{schema}}.rate_limits'::regclass, v_from);
  IF v_service THEN GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {{schema}}.rate_limits TO service_role; END IF;
  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.rate_limit_hit(text, integer, double precision, boolean)',
    '{{schema}}.rate_limit_cleanup(integer)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
