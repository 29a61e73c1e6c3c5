-- 007_session_inspect: when a session lease was taken, and one call that reports a key's live
-- record and live lease (SessionBackend.inspect: SessionStore.inspect, the dashboard's session view).
-- Conventions as 001_sessions (its header): idempotent, SECURITY INVOKER, no SET search_path, the
-- server clock, lockdown at the end for what this migration creates.
--
-- session_leases gains acquired_at: set when a token takes a free or lapsed lease (session_acquire,
-- or session_commit keeping a lapsed lease for a hand-over), kept while the same token re-acquires,
-- extends or hands over. NULL on rows leased before this migration until their next acquire, which
-- session_inspect reports as an unknown age.
-- What the update path pays: session_acquire writes one more column of the lease row it writes
-- anyway (an unlogged table: no WAL); session_commit's usual path (the lease is still ours) runs the
-- same statements as before. session_acquire and session_commit are replaced with the same
-- signatures, so the batch functions calling them and their privileges stay as they are.

ALTER TABLE {{schema}}.session_leases ADD COLUMN IF NOT EXISTS acquired_at timestamptz;

-- As 001_sessions, plus acquired_at.
CREATE OR REPLACE FUNCTION {{schema}}.session_acquire(
  p_key text, p_token text, p_lease_ms double precision,
  OUT ok boolean, OUT retry_in_ms double precision, OUT data text, OUT version bigint,
  OUT expires_at_ms double precision)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_until timestamptz := v_now + p_lease_ms * interval '1 millisecond';
  v_held_until timestamptz;
BEGIN
  INSERT INTO {{schema}}.session_leases AS l (key, token, until, acquired_at)
  VALUES (p_key, p_token, v_until, v_now)
  ON CONFLICT (key) DO UPDATE
    SET token = excluded.token, until = excluded.until, waiters = false,
        -- Still ours (a retry, or a second acquire with the same token): it was taken back then.
        acquired_at = CASE WHEN l.token = p_token AND l.until > v_now THEN l.acquired_at ELSE v_now END
    WHERE l.token IS NULL OR l.until <= v_now OR l.token = p_token;
  IF NOT FOUND THEN
    -- ON CONFLICT keeps the conflicting row locked even when its WHERE fails, so the holder cannot
    -- release between the check above and the waiter mark below (no lost wake-up).
    UPDATE {{schema}}.session_leases AS l SET waiters = true WHERE l.key = p_key RETURNING l.until INTO v_held_until;
    ok := false;
    retry_in_ms := GREATEST(0, EXTRACT(EPOCH FROM (v_held_until - v_now)) * 1000)::double precision;
    RETURN;
  END IF;
  ok := true;
  SELECT s.data::text, s.version,
         CASE WHEN s.expires_at IS NULL THEN NULL
              ELSE pg_catalog.floor(EXTRACT(EPOCH FROM s.expires_at) * 1000)::double precision END
    INTO data, version, expires_at_ms
    FROM {{schema}}.sessions AS s
   WHERE s.key = p_key AND (s.expires_at IS NULL OR s.expires_at > v_now);
  IF NOT FOUND THEN version := 0; END IF;
END
$$;

-- As 001_sessions, plus acquired_at when a lapsed lease is kept.
CREATE OR REPLACE FUNCTION {{schema}}.session_commit(
  p_key text, p_token text, p_version bigint, p_write text, p_data text DEFAULT NULL,
  p_ttl_ms double precision DEFAULT NULL, p_keep_lease_ms double precision DEFAULT NULL,
  OUT ok boolean, OUT version bigint)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_lease_until timestamptz := v_now + p_keep_lease_ms * interval '1 millisecond';
  v_expires timestamptz := v_now + p_ttl_ms * interval '1 millisecond';
  l {{schema}}.session_leases;
  v_ours boolean;
  v_waiters boolean;
  v_cur bigint;
BEGIN
  IF p_write IS NULL OR p_write NOT IN ('none', 'set', 'delete') THEN
    RAISE EXCEPTION 'session_commit: p_write must be none, set or delete, got %', p_write
      USING ERRCODE = '22023';
  END IF;
  UPDATE {{schema}}.session_leases AS x
     SET token = CASE WHEN v_lease_until IS NULL THEN NULL ELSE p_token END, until = v_lease_until
   WHERE x.key = p_key AND x.token = p_token AND x.until > v_now
  RETURNING x.waiters INTO v_waiters;
  v_ours := FOUND;
  IF NOT v_ours THEN
    -- Lapsed (or never ours): lock the key's lease row, created if a cleanup removed it, so that no
    -- acquire of this key runs between the fence and the write; then the record must still be at
    -- p_version (its row locked too, when there is one).
    SELECT * INTO l FROM {{schema}}.session_leases AS x WHERE x.key = p_key FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO {{schema}}.session_leases (key) VALUES (p_key) ON CONFLICT (key) DO NOTHING;
      SELECT * INTO l FROM {{schema}}.session_leases AS x WHERE x.key = p_key FOR UPDATE;
    END IF;
    IF l.token IS NOT NULL AND l.until > v_now THEN ok := false; RETURN; END IF;
    SELECT CASE WHEN s.expires_at IS NULL OR s.expires_at > v_now THEN s.version ELSE 0 END
      INTO v_cur FROM {{schema}}.sessions AS s WHERE s.key = p_key FOR UPDATE;
    IF COALESCE(v_cur, 0) <> p_version THEN ok := false; RETURN; END IF;
  END IF;

  IF p_write = 'set' THEN
    -- Without the lease, the WHERE also refuses a record a plain writer created since the check
    -- above (it was absent then, so there was no row to lock).
    INSERT INTO {{schema}}.sessions AS s (key, data, version, expires_at)
    VALUES (p_key, p_data::jsonb, 1, v_expires)
    ON CONFLICT (key) DO UPDATE
      SET data = excluded.data, expires_at = excluded.expires_at,
          version = CASE WHEN s.expires_at IS NULL OR s.expires_at > v_now THEN s.version + 1 ELSE 1 END
      WHERE v_ours OR (CASE WHEN s.expires_at IS NULL OR s.expires_at > v_now THEN s.version ELSE 0 END) = p_version
    RETURNING s.version INTO version;
    IF NOT FOUND THEN ok := false; version := NULL; RETURN; END IF;
  ELSIF p_write = 'delete' THEN
    DELETE FROM {{schema}}.sessions AS s WHERE s.key = p_key;
    version := 0;
  ELSIF p_ttl_ms IS NOT NULL THEN
    UPDATE {{schema}}.sessions AS s SET expires_at = v_expires
     WHERE s.key = p_key AND (s.expires_at IS NULL OR s.expires_at > v_now)
    RETURNING s.version INTO version;
    version := COALESCE(version, 0);
  ELSE
    -- Unchanged: no write to this logged table, so the transaction needs no WAL flush at all.
    SELECT CASE WHEN s.expires_at IS NULL OR s.expires_at > v_now THEN s.version ELSE 0 END
      INTO version FROM {{schema}}.sessions AS s WHERE s.key = p_key;
    version := COALESCE(version, 0);
  END IF;
  ok := true;

  IF NOT v_ours THEN
    -- A lapsed lease kept (hand-over) is taken anew now; a released one ignores acquired_at.
    UPDATE {{schema}}.session_leases AS x
       SET token = CASE WHEN v_lease_until IS NULL THEN NULL ELSE p_token END, until = v_lease_until,
           acquired_at = v_now
     WHERE x.key = p_key;
    v_waiters := l.waiters AND l.token IS NOT NULL;
  END IF;
  IF v_lease_until IS NULL AND v_waiters THEN
    PERFORM pg_catalog.pg_notify('botwire_session_released',
      CASE WHEN pg_catalog.octet_length(p_key) <= 7000 THEN p_key ELSE '' END);
  END IF;
END
$$;

-- The live record and the live lease of one key; NULL columns for what is absent. Always one row.
-- Reads only: takes no row lock, so it never waits for (or delays) a holder's commit.
CREATE OR REPLACE FUNCTION {{schema}}.session_inspect(
  p_key text,
  OUT data text, OUT version bigint, OUT expires_at_ms double precision,
  OUT lease_token text, OUT lease_held_ms double precision, OUT lease_expires_in_ms double precision)
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT s.data::text, s.version,
         pg_catalog.floor(EXTRACT(EPOCH FROM s.expires_at) * 1000)::double precision,
         l.token,
         (EXTRACT(EPOCH FROM (pg_catalog.now() - l.acquired_at)) * 1000)::double precision,
         (EXTRACT(EPOCH FROM (l.until - pg_catalog.now())) * 1000)::double precision
  FROM (SELECT 1) AS one
  LEFT JOIN {{schema}}.sessions AS s
    ON s.key = p_key AND s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > pg_catalog.now())
  LEFT JOIN {{schema}}.session_leases AS l
    ON l.key = p_key AND l.token IS NOT NULL AND l.until > pg_catalog.now()
$$;

-- Lockdown (the rule: 001_sessions.sql's header), for what this migration created.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  FOREACH v_obj IN ARRAY ARRAY['{{schema}}.session_inspect(text)'] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
