-- 001_sessions: the SessionStore table and one function per primitive.
--
-- Conventions every botwire migration follows (002_jobs, 003_sync, … copy them):
--   * `{{schema}}` is replaced by the validated, double-quoted schema name; nothing else is templated.
--   * Idempotent: CREATE … IF NOT EXISTS / CREATE OR REPLACE, so pasting it twice is harmless.
--   * Every table gets ROW LEVEL SECURITY with no policies: only the owner (and BYPASSRLS roles such as
--     Supabase's service_role) can touch rows; anon/authenticated see nothing.
--   * Every migration ends with a lockdown block naming each table, sequence and function it creates
--     (see 008_lockdown.sql): rights revoked from PUBLIC, anon and authenticated, granted to service_role.
--   * Functions are SECURITY INVOKER with fully qualified names (pg_catalog.now(), {{schema}}.t) and no
--     `SET search_path` clause: as invoker they run with the caller's own rights, so the caller's
--     search_path can only ever affect that caller, while a SET clause costs every call a GUC
--     save/restore and stops SQL functions from inlining (measured: a c=1 job drain went from 307 to
--     421 jobs/s, session_get from ~150-340 µs to ~15 µs server time). They take named `p_*`
--     arguments and return OUT columns / scalars, so Supabase can call them via rpc().
--   * The server clock (clock_timestamp()) decides TTLs and leases, never the caller's.
--   * Milliseconds are double precision so fractional or large JS numbers pass without casts.
--
-- Row states in {{schema}}.sessions:
--   record  data IS NOT NULL and (expires_at IS NULL or expires_at > now): visible to reads.
--   dead    data IS NOT NULL and expires_at <= now: invisible; cleanup deletes it once no lease is live.
--   lease   data IS NULL: only a lease on an absent key. expires_at then holds the lease's end, so the
--           expires_at index also finds abandoned lease rows for cleanup. Reads never see these.
-- A lease is live when lease_token IS NOT NULL and lease_until > now. `waiters` is set by a failed
-- acquire so that commit/release send pg_notify only when somebody is actually waiting.

CREATE TABLE IF NOT EXISTS {{schema}}.sessions (
  key         text PRIMARY KEY,
  data        jsonb,
  version     bigint NOT NULL DEFAULT 0,
  expires_at  timestamptz,
  lease_token text,
  lease_until timestamptz,
  waiters     boolean NOT NULL DEFAULT false,
  CONSTRAINT sessions_lease_rows_expire CHECK (data IS NOT NULL OR expires_at IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON {{schema}}.sessions (expires_at) WHERE expires_at IS NOT NULL;

ALTER TABLE {{schema}}.sessions ENABLE ROW LEVEL SECURITY;

-- Read several live records. Keys without a live record are simply missing from the result.
-- No `SET search_path` here on purpose: a SET clause stops Postgres from inlining a SQL function, and
-- a non-inlined SQL function is planned again on every call (measured: ~150-340 µs of server time per
-- get vs ~15 µs inlined). Every name inside is schema-qualified, and as SECURITY INVOKER it runs with
-- the caller's own rights, so a caller's search_path can only ever affect that caller.
CREATE OR REPLACE FUNCTION {{schema}}.session_get(p_keys text[])
RETURNS TABLE (key text, data text, version bigint, expires_at_ms double precision)
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT s.key, s.data::text, s.version,
         pg_catalog.floor(EXTRACT(EPOCH FROM s.expires_at) * 1000)::double precision
  FROM {{schema}}.sessions AS s
  WHERE s.key = ANY (p_keys)
    AND s.data IS NOT NULL
    AND (s.expires_at IS NULL OR s.expires_at > pg_catalog.now())
$$;

-- Write a record. p_if_version: NULL = unconditional, 0 = only if absent, n = only if at version n.
-- ok = false leaves everything untouched and reports the live version (0 = none) in `version`.
CREATE OR REPLACE FUNCTION {{schema}}.session_set(
  p_key text, p_data text, p_ttl_ms double precision DEFAULT NULL, p_if_version bigint DEFAULT NULL,
  OUT ok boolean, OUT version bigint)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_expires timestamptz := v_now + p_ttl_ms * interval '1 millisecond';
BEGIN
  IF p_if_version IS NULL OR p_if_version = 0 THEN
    INSERT INTO {{schema}}.sessions AS s (key, data, version, expires_at)
    VALUES (p_key, p_data::jsonb, 1, v_expires)
    ON CONFLICT (key) DO UPDATE
      SET data = excluded.data,
          expires_at = excluded.expires_at,
          version = CASE WHEN s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now)
                         THEN s.version + 1 ELSE 1 END
      WHERE p_if_version IS NULL
         OR NOT (s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now))
    RETURNING s.version INTO version;
  ELSE
    UPDATE {{schema}}.sessions AS s
       SET data = p_data::jsonb, expires_at = v_expires, version = s.version + 1
     WHERE s.key = p_key AND s.version = p_if_version
       AND s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now)
    RETURNING s.version INTO version;
  END IF;
  ok := FOUND;
  IF NOT ok THEN
    SELECT CASE WHEN s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now)
                THEN s.version ELSE 0 END
      INTO version
      FROM {{schema}}.sessions AS s WHERE s.key = p_key;
    version := COALESCE(version, 0);
  END IF;
END
$$;

-- Delete a record. ok = true with version = the deleted version (0 = nothing was there).
-- A live lease on the key survives: only the record goes, so its holder's commit stays fenced correctly.
CREATE OR REPLACE FUNCTION {{schema}}.session_delete(
  p_key text, p_if_version bigint DEFAULT NULL, OUT ok boolean, OUT version bigint)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  r {{schema}}.sessions;
BEGIN
  SELECT * INTO r FROM {{schema}}.sessions AS s WHERE s.key = p_key FOR UPDATE;
  IF NOT FOUND THEN
    ok := p_if_version IS NULL OR p_if_version = 0;
    version := 0;
    RETURN;
  END IF;
  version := CASE WHEN r.data IS NOT NULL AND (r.expires_at IS NULL OR r.expires_at > v_now)
                  THEN r.version ELSE 0 END;
  ok := p_if_version IS NULL OR p_if_version = version;
  IF NOT ok THEN RETURN; END IF;
  IF r.lease_token IS NOT NULL AND r.lease_until > v_now THEN
    IF r.data IS NOT NULL THEN
      UPDATE {{schema}}.sessions AS s SET data = NULL, version = 0, expires_at = r.lease_until WHERE s.key = p_key;
    END IF;
  ELSE
    DELETE FROM {{schema}}.sessions AS s WHERE s.key = p_key;
  END IF;
END
$$;

-- Slide a live record's expiry without rewriting it. False when there is no live record.
CREATE OR REPLACE FUNCTION {{schema}}.session_touch(p_key text, p_ttl_ms double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
BEGIN
  UPDATE {{schema}}.sessions AS s SET expires_at = v_now + p_ttl_ms * interval '1 millisecond'
   WHERE s.key = p_key AND s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now);
  RETURN FOUND;
END
$$;

-- Take the lease (if free, lapsed or already ours) and read the record, in one statement.
-- On failure: ok = false, retry_in_ms = time left on the holder's lease, and the row is marked as
-- having waiters so the holder's commit/release wakes them with pg_notify.
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
  -- A dead record is turned into a bare lease row here, so the read below and every later fence
  -- see "absent, version 0" exactly as a never-written key.
  INSERT INTO {{schema}}.sessions AS s (key, data, version, expires_at, lease_token, lease_until)
  VALUES (p_key, NULL, 0, v_until, p_token, v_until)
  ON CONFLICT (key) DO UPDATE
    SET lease_token = excluded.lease_token,
        lease_until = excluded.lease_until,
        data = CASE WHEN s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now) THEN s.data END,
        version = CASE WHEN s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now) THEN s.version ELSE 0 END,
        expires_at = CASE WHEN s.data IS NOT NULL AND (s.expires_at IS NULL OR s.expires_at > v_now)
                          THEN s.expires_at ELSE excluded.expires_at END
    WHERE s.lease_token IS NULL OR s.lease_until <= v_now OR s.lease_token = p_token
  RETURNING s.data::text, s.version,
            CASE WHEN s.data IS NULL THEN NULL
                 ELSE pg_catalog.floor(EXTRACT(EPOCH FROM s.expires_at) * 1000)::double precision END
       INTO data, version, expires_at_ms;
  IF FOUND THEN
    ok := true;
    RETURN;
  END IF;
  -- ON CONFLICT keeps the conflicting row locked even when its WHERE fails, so the holder cannot
  -- release between the check above and the waiter mark below (no lost wake-up).
  UPDATE {{schema}}.sessions AS s SET waiters = true WHERE s.key = p_key AND NOT s.waiters;
  SELECT s.lease_until INTO v_held_until FROM {{schema}}.sessions AS s WHERE s.key = p_key;
  ok := false;
  data := NULL;
  version := NULL;
  retry_in_ms := GREATEST(0, EXTRACT(EPOCH FROM (v_held_until - v_now)) * 1000)::double precision;
END
$$;

-- Fenced write + release in one call. The commit is accepted when the lease is still ours, or when
-- nobody holds a live lease and the live version still equals p_version (read at acquire).
-- p_write: 'none' (refresh TTL if p_ttl_ms given), 'set' (write p_data) or 'delete'.
-- p_keep_lease_ms: keep holding the lease that long instead of releasing it.
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
  r {{schema}}.sessions;
  v_found boolean;
  v_live boolean;
  v_cur bigint;
  v_version bigint;
  v_has_data boolean;
BEGIN
  IF p_write IS NULL OR p_write NOT IN ('none', 'set', 'delete') THEN
    RAISE EXCEPTION 'session_commit: p_write must be none, set or delete, got %', p_write
      USING ERRCODE = '22023';
  END IF;
  SELECT * INTO r FROM {{schema}}.sessions AS s WHERE s.key = p_key FOR UPDATE;
  v_found := FOUND;
  v_live := v_found AND r.data IS NOT NULL AND (r.expires_at IS NULL OR r.expires_at > v_now);
  v_cur := CASE WHEN v_live THEN r.version ELSE 0 END;
  IF v_found AND r.lease_token IS NOT NULL AND r.lease_until > v_now THEN
    IF r.lease_token <> p_token THEN ok := false; RETURN; END IF;
  ELSIF v_cur <> p_version THEN
    ok := false; RETURN;
  END IF;

  ok := true;
  v_version := CASE p_write WHEN 'set' THEN v_cur + 1 WHEN 'delete' THEN 0 ELSE v_cur END;
  version := v_version;
  v_has_data := p_write = 'set' OR (p_write = 'none' AND v_live);

  IF NOT v_found THEN
    IF NOT v_has_data AND v_lease_until IS NULL THEN RETURN; END IF;
    INSERT INTO {{schema}}.sessions AS s (key, data, version, expires_at, lease_token, lease_until)
    VALUES (p_key, CASE WHEN v_has_data THEN p_data::jsonb END, v_version,
            CASE WHEN v_has_data THEN v_expires ELSE v_lease_until END,
            CASE WHEN v_lease_until IS NOT NULL THEN p_token END, v_lease_until)
    ON CONFLICT (key) DO NOTHING;
    -- Someone created the key since we looked: the record moved on, so this lapsed commit loses.
    IF NOT FOUND THEN ok := false; version := NULL; END IF;
    RETURN;
  END IF;

  IF NOT v_has_data AND v_lease_until IS NULL THEN
    DELETE FROM {{schema}}.sessions AS s WHERE s.key = p_key;
  ELSE
    -- `s.data` (not a copy of it) keeps an unchanged, possibly TOASTed value from being rewritten.
    UPDATE {{schema}}.sessions AS s
       SET data = CASE WHEN p_write = 'set' THEN p_data::jsonb WHEN v_has_data THEN s.data END,
           version = v_version,
           expires_at = CASE WHEN p_write = 'set' THEN v_expires
                             WHEN NOT v_has_data THEN v_lease_until
                             WHEN p_ttl_ms IS NOT NULL THEN v_expires
                             ELSE s.expires_at END,
           lease_token = CASE WHEN v_lease_until IS NOT NULL THEN p_token END,
           lease_until = v_lease_until,
           waiters = s.waiters AND v_lease_until IS NOT NULL
     WHERE s.key = p_key;
  END IF;
  IF v_lease_until IS NULL AND r.waiters THEN
    PERFORM pg_catalog.pg_notify('botwire_session_released',
      CASE WHEN pg_catalog.octet_length(p_key) <= 7000 THEN p_key ELSE '' END);
  END IF;
END
$$;

-- Push a held lease's end to now + p_lease_ms. False when the lease is not ours or has lapsed.
CREATE OR REPLACE FUNCTION {{schema}}.session_extend(p_key text, p_token text, p_lease_ms double precision)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_until timestamptz := v_now + p_lease_ms * interval '1 millisecond';
BEGIN
  UPDATE {{schema}}.sessions AS s
     SET lease_until = v_until,
         expires_at = CASE WHEN s.data IS NULL THEN v_until ELSE s.expires_at END
   WHERE s.key = p_key AND s.lease_token = p_token AND s.lease_until > v_now;
  RETURN FOUND;
END
$$;

-- Drop the lease if it is ours and live; wake waiters. False when it lapsed or changed hands.
CREATE OR REPLACE FUNCTION {{schema}}.session_release(p_key text, p_token text)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  r {{schema}}.sessions;
BEGIN
  SELECT * INTO r FROM {{schema}}.sessions AS s
   WHERE s.key = p_key AND s.lease_token = p_token AND s.lease_until > v_now
   FOR UPDATE;
  IF NOT FOUND THEN RETURN false; END IF;
  IF r.data IS NOT NULL AND (r.expires_at IS NULL OR r.expires_at > v_now) THEN
    UPDATE {{schema}}.sessions AS s SET lease_token = NULL, lease_until = NULL, waiters = false WHERE s.key = p_key;
  ELSE
    DELETE FROM {{schema}}.sessions AS s WHERE s.key = p_key;
  END IF;
  IF r.waiters THEN
    PERFORM pg_catalog.pg_notify('botwire_session_released',
      CASE WHEN pg_catalog.octet_length(p_key) <= 7000 THEN p_key ELSE '' END);
  END IF;
  RETURN true;
END
$$;

-- Delete up to p_limit expired records and abandoned lease rows; returns how many. Rows locked by a
-- concurrent cleanup or writer are skipped, so several instances can run it at once.
CREATE OR REPLACE FUNCTION {{schema}}.session_cleanup(p_limit integer DEFAULT 1000)
RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
  v_count integer;
BEGIN
  DELETE FROM {{schema}}.sessions AS s
   WHERE s.key IN (
     SELECT d.key FROM {{schema}}.sessions AS d
      WHERE d.expires_at <= v_now AND (d.lease_until IS NULL OR d.lease_until <= v_now)
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END
$$;

-- Lock down what this migration created, by name (the rule and the block's shape: 008_lockdown.sql).
-- Nobody but the owner (the migrating role) and Supabase's service_role may use the schema, read the
-- tables or call the functions; PUBLIC holds EXECUTE on every new function unless it is revoked.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA {{schema}} FROM %s', v_from);
  -- Supabase's server-side key runs as service_role (BYPASSRLS, but it still needs grants).
  IF v_service THEN GRANT USAGE ON SCHEMA {{schema}} TO service_role; END IF;
  FOREACH v_obj IN ARRAY ARRAY['{{schema}}.migrations', '{{schema}}.sessions'] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s', v_obj::regclass, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO service_role', v_obj::regclass);
    END IF;
  END LOOP;
  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.session_get(text[])',
    '{{schema}}.session_set(text, text, double precision, bigint)',
    '{{schema}}.session_delete(text, bigint)',
    '{{schema}}.session_touch(text, double precision)',
    '{{schema}}.session_acquire(text, text, double precision)',
    '{{schema}}.session_commit(text, text, bigint, text, text, double precision, double precision)',
    '{{schema}}.session_extend(text, text, double precision)',
    '{{schema}}.session_release(text, text)',
    '{{schema}}.session_cleanup(integer)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
