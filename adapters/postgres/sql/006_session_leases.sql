-- 006_session_leases: leases move out of the sessions table into an UNLOGGED table of their own.
--
-- Why: a 'serialize' middleware update wrote the session row twice (take the lease, then commit),
-- and both were durable transactions, each waiting for a WAL flush; grammY's storage-psql writes
-- once (a read, then an upsert). Measured in bench/middleware.ts: 0.69x storage-psql's updates/s.
-- A lease is transient by nature, so it now lives in an UNLOGGED table: taking, extending, handing
-- over and releasing it write no WAL and never wait for a flush, and a middleware update makes
-- exactly one durable write (none when the session did not change).
--
-- What a crash (or a failover: unlogged tables are empty on a promoted standby) costs: the leases
-- of that moment. Their holders' commits are then accepted only when the record is still at the
-- version they read (the same fence as for a lapsed lease), so no update is lost; a lost waiter
-- mark only means the waiter retries when the holder's lease would have ended.
--
-- Lock order: lease row, then session row. Lease operations (acquire, commit, extend, release)
-- lock the key's lease row first, so a commit and an acquire of one key never interleave; plain
-- reads and writes (session_get/set/delete) touch only the session row. No cycle, no deadlock.
--
-- Rows in {{schema}}.session_leases: one per key that was ever leased, kept and reused (an UPDATE
-- of a kept row is cheaper than an insert and a delete); free when token IS NULL or until <= now.
-- `waiters` is set by a failed acquire and cleared by the next successful one, so a release
-- notifies only when somebody may be waiting.
-- session_cleanup() purges free rows. {{schema}}.sessions now holds records only (data NOT NULL);
-- the bare lease rows of 001 (data IS NULL) and its lease columns are gone.

CREATE UNLOGGED TABLE IF NOT EXISTS {{schema}}.session_leases (
  key     text PRIMARY KEY,
  token   text,
  until   timestamptz,
  waiters boolean NOT NULL DEFAULT false
);

ALTER TABLE {{schema}}.session_leases ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON {{schema}}.session_leases FROM PUBLIC;

-- Carry over the live leases of 001's columns (the holders are mid-update during the deploy).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
              WHERE attrelid = '{{schema}}.sessions'::regclass AND attname = 'lease_token' AND NOT attisdropped) THEN
    EXECUTE $sql$
      INSERT INTO {{schema}}.session_leases (key, token, until, waiters)
      SELECT s.key, s.lease_token, s.lease_until, s.waiters FROM {{schema}}.sessions AS s
       WHERE s.lease_token IS NOT NULL AND s.lease_until > pg_catalog.clock_timestamp()
      ON CONFLICT (key) DO NOTHING$sql$;
    DELETE FROM {{schema}}.sessions AS s WHERE s.data IS NULL;
  END IF;
END
$$;

-- Every function that used the lease columns is replaced below, in this same transaction.
ALTER TABLE {{schema}}.sessions DROP COLUMN IF EXISTS lease_token;
ALTER TABLE {{schema}}.sessions DROP COLUMN IF EXISTS lease_until;
ALTER TABLE {{schema}}.sessions DROP COLUMN IF EXISTS waiters;

-- Take the lease (if free, lapsed or already ours) and read the live record. On failure: ok = false,
-- retry_in_ms = time left on the holder's lease, and the lease is marked as having waiters so the
-- holder's commit/release wakes them with pg_notify.
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
  INSERT INTO {{schema}}.session_leases AS l (key, token, until)
  VALUES (p_key, p_token, v_until)
  ON CONFLICT (key) DO UPDATE
    SET token = excluded.token, until = excluded.until, waiters = false
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

-- Fenced write + release in one call. The commit is accepted when the lease is still ours, or when
-- nobody holds a live lease and the live version still equals p_version (read at acquire).
-- p_write: 'none' (refresh TTL if p_ttl_ms given), 'set' (write p_data) or 'delete'.
-- p_keep_lease_ms: keep holding the lease that long instead of releasing it.
-- The usual case (the lease is ours) is two statements: the lease row's update, which also locks
-- it, and the write. The waiter mark is left on a released row (the next acquire clears it), so
-- the update's RETURNING still reports whether anybody waits.
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
    UPDATE {{schema}}.session_leases AS x
       SET token = CASE WHEN v_lease_until IS NULL THEN NULL ELSE p_token END, until = v_lease_until
     WHERE x.key = p_key;
    v_waiters := l.waiters AND l.token IS NOT NULL;
  END IF;
  IF v_lease_until IS NULL AND v_waiters THEN
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
BEGIN
  UPDATE {{schema}}.session_leases AS l SET until = v_now + p_lease_ms * interval '1 millisecond'
   WHERE l.key = p_key AND l.token = p_token AND l.until > v_now;
  RETURN FOUND;
END
$$;

-- Drop the lease if it is ours and live; wake waiters. False when it lapsed or changed hands.
CREATE OR REPLACE FUNCTION {{schema}}.session_release(p_key text, p_token text)
RETURNS boolean
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_waiters boolean;
BEGIN
  UPDATE {{schema}}.session_leases AS l SET token = NULL, until = NULL
   WHERE l.key = p_key AND l.token = p_token AND l.until > pg_catalog.clock_timestamp()
  RETURNING l.waiters INTO v_waiters;
  IF NOT FOUND THEN RETURN false; END IF;
  IF v_waiters THEN
    PERFORM pg_catalog.pg_notify('botwire_session_released',
      CASE WHEN pg_catalog.octet_length(p_key) <= 7000 THEN p_key ELSE '' END);
  END IF;
  RETURN true;
END
$$;

-- Delete a record. ok = true with version = the deleted version (0 = nothing was there). A lease
-- on the key is untouched, so its holder's commit stays fenced correctly.
CREATE OR REPLACE FUNCTION {{schema}}.session_delete(
  p_key text, p_if_version bigint DEFAULT NULL, OUT ok boolean, OUT version bigint)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_now timestamptz := pg_catalog.clock_timestamp();
BEGIN
  SELECT CASE WHEN s.expires_at IS NULL OR s.expires_at > v_now THEN s.version ELSE 0 END
    INTO version FROM {{schema}}.sessions AS s WHERE s.key = p_key FOR UPDATE;
  IF NOT FOUND THEN
    ok := p_if_version IS NULL OR p_if_version = 0;
    version := 0;
    RETURN;
  END IF;
  ok := p_if_version IS NULL OR p_if_version = version;
  IF ok THEN DELETE FROM {{schema}}.sessions AS s WHERE s.key = p_key; END IF;
END
$$;

-- Delete up to p_limit expired records; returns how many. Free lease rows are purged alongside (up
-- to p_limit, not counted). Rows locked by a concurrent cleanup or writer are skipped, so several
-- instances can run it at once.
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
      WHERE d.expires_at <= v_now
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED);
  GET DIAGNOSTICS v_count = ROW_COUNT;
  DELETE FROM {{schema}}.session_leases AS l
   WHERE l.key IN (
     SELECT f.key FROM {{schema}}.session_leases AS f
      WHERE f.token IS NULL OR f.until <= v_now
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED);
  RETURN v_count;
END
$$;

-- Nobody but the owner (and Supabase's service_role) may touch the lease table; the functions above
-- keep 001's grants (CREATE OR REPLACE leaves them as they were).
DO $$
DECLARE
  v_role text;
BEGIN
  FOREACH v_role IN ARRAY ARRAY['anon', 'authenticated'] LOOP
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = v_role) THEN
      EXECUTE pg_catalog.format('REVOKE ALL ON {{schema}}.session_leases FROM %I', v_role);
    END IF;
  END LOOP;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON {{schema}}.session_leases TO service_role;
  END IF;
END
$$;
