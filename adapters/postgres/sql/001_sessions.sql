-- 001_sessions: the SessionStore tables and one function per primitive.
--
-- Baseline rule: 001–004 are the 0.x baseline, one file per capability. Until botwire's first
-- published version they may still be folded (edited in place); from that version on a migration is
-- never edited again: every change to the schema is a new numbered file appended after the last
-- one, because databases out there have already run the old text (docs/adapters/postgres.md,
-- "Migrations").
--
-- Conventions every botwire migration follows (002_jobs, 003_sync, … copy them):
--   * `{{schema}}` is replaced by the validated, double-quoted schema name; nothing else is templated.
--   * Idempotent: CREATE … IF NOT EXISTS / CREATE OR REPLACE, so pasting it twice is harmless.
--   * Every table gets ROW LEVEL SECURITY with no policies: only the owner (and BYPASSRLS roles such as
--     Supabase's service_role) can touch rows; anon/authenticated see nothing.
--   * Every migration ends with a lockdown block that names each table, sequence and function it
--     creates (or re-creates with DROP + CREATE), in the shape of the block at the end of this file:
--       - REVOKE ALL … FROM PUBLIC, and from Supabase's client roles anon and authenticated where they
--         exist. PUBLIC holds EXECUTE on every new function by default, and a database may grant anon
--         and authenticated rights on new objects by default (ALTER DEFAULT PRIVILEGES).
--       - GRANT to service_role where it exists (Supabase's server-side key; BYPASSRLS, but it still
--         needs grants): USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on tables, EXECUTE on
--         functions. Sequences get nothing: identity columns draw from them without the inserting
--         role's rights.
--       - The migrating role keeps everything as the owner.
--       - Objects are listed by name, never "ALL … IN SCHEMA" or "whatever is in the schema": botwire
--         touches only what it created. A name or signature that does not exist fails the migration
--         (the ::regclass / ::regprocedure casts), so the list cannot silently go stale.
--     CREATE OR REPLACE keeps a function's privileges, so replacing a function needs no new block.
--   * Functions are SECURITY INVOKER with fully qualified names (pg_catalog.now(), {{schema}}.t) and no
--     `SET search_path` clause: as invoker they run with the caller's own rights, so the caller's
--     search_path can only ever affect that caller, while a SET clause costs every call a GUC
--     save/restore and stops SQL functions from inlining (measured: a c=1 job drain went from 307 to
--     421 jobs/s, session_get from ~150-340 µs to ~15 µs server time). They take named `p_*`
--     arguments and return OUT columns / scalars, so Supabase can call them via rpc().
--   * The server clock (clock_timestamp()) decides TTLs and leases, never the caller's.
--   * Milliseconds are double precision so fractional or large JS numbers pass without casts.
--
-- Records live in {{schema}}.sessions: visible to reads while expires_at IS NULL or expires_at > now;
-- an expired record is invisible and session_cleanup() deletes it. The functions never write a NULL
-- `data`; the CHECK keeps a row without data from living for ever.
--
-- Leases live in {{schema}}.session_leases, an UNLOGGED table. A lease is transient by nature:
-- taking, extending, handing over and releasing it write no WAL and never wait for a flush, so a
-- 'serialize' middleware update makes exactly one durable write (none when the session did not
-- change). Measured in bench/middleware.ts with the leases in the sessions table instead: two durable
-- writes per update, 0.69x grammY storage-psql's updates/s.
-- What a crash (or a failover: unlogged tables are empty on a promoted standby) costs: the leases of
-- that moment. Their holders' commits are then accepted only when the record is still at the version
-- they read (the same fence as for a lapsed lease), so no update is lost; a lost waiter mark only
-- means the waiter retries when the holder's lease would have ended.
-- Rows in session_leases: one per key that was ever leased, kept and reused (an UPDATE of a kept row
-- is cheaper than an insert and a delete); free when token IS NULL or until <= now. `waiters` is set
-- by a failed acquire and cleared by the next successful one, so a release notifies only when
-- somebody may be waiting. session_cleanup() purges free rows.
--
-- Lock order: lease row, then session row. Lease operations (acquire, commit, extend, release) lock
-- the key's lease row first, so a commit and an acquire of one key never interleave; plain reads and
-- writes (session_get/set/delete) touch only the session row. No cycle, no deadlock.

CREATE TABLE IF NOT EXISTS {{schema}}.sessions (
  key         text PRIMARY KEY,
  data        jsonb,
  version     bigint NOT NULL DEFAULT 0,
  expires_at  timestamptz,
  CONSTRAINT sessions_lease_rows_expire CHECK (data IS NOT NULL OR expires_at IS NOT NULL)
);

CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON {{schema}}.sessions (expires_at) WHERE expires_at IS NOT NULL;

ALTER TABLE {{schema}}.sessions ENABLE ROW LEVEL SECURITY;

CREATE UNLOGGED TABLE IF NOT EXISTS {{schema}}.session_leases (
  key     text PRIMARY KEY,
  token   text,
  until   timestamptz,
  waiters boolean NOT NULL DEFAULT false
);

ALTER TABLE {{schema}}.session_leases ENABLE ROW LEVEL SECURITY;

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

-- Batches: take or commit many leases, or write many records, in one call.
-- A statement's round trip costs client and server ~125 µs of CPU whatever it does (waking the
-- backend and then the client; measured on the development machine), more than the SQL of a session
-- acquire or commit. Acquires, commits and sets that arrive while one of their kind is in flight wait
-- for it and then go together, one statement and one transaction for the lot: one WAL flush for many
-- writes. Each caller still waits one round trip. The functions below call the single-key ones in
-- sorted key order (two batches never lock the same rows in opposite orders: every lease operation
-- locks a key's lease row before its record, and plain writes lock records only) and answer one row
-- per input, tagged with its position (`i`, 1-based). One failing call fails the whole statement and
-- writes nothing; the adapter then sends each call on its own, so only the bad one fails.
CREATE OR REPLACE FUNCTION {{schema}}.session_acquire_many(
  p_keys text[], p_tokens text[], p_lease_ms double precision[])
RETURNS TABLE (i integer, ok boolean, retry_in_ms double precision, data text, version bigint, expires_at_ms double precision)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_i integer;
BEGIN
  FOR v_i IN SELECT u.o::integer FROM unnest(p_keys) WITH ORDINALITY AS u(k, o) ORDER BY u.k, u.o LOOP
    RETURN QUERY SELECT v_i, a.ok, a.retry_in_ms, a.data, a.version, a.expires_at_ms
      FROM {{schema}}.session_acquire(p_keys[v_i], p_tokens[v_i], p_lease_ms[v_i]) AS a;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION {{schema}}.session_commit_many(
  p_keys text[], p_tokens text[], p_versions bigint[], p_writes text[], p_datas text[],
  p_ttl_ms double precision[], p_keep_lease_ms double precision[])
RETURNS TABLE (i integer, ok boolean, version bigint)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_i integer;
BEGIN
  FOR v_i IN SELECT u.o::integer FROM unnest(p_keys) WITH ORDINALITY AS u(k, o) ORDER BY u.k, u.o LOOP
    RETURN QUERY SELECT v_i, c.ok, c.version
      FROM {{schema}}.session_commit(p_keys[v_i], p_tokens[v_i], p_versions[v_i], p_writes[v_i], p_datas[v_i],
                                     p_ttl_ms[v_i], p_keep_lease_ms[v_i]) AS c;
  END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION {{schema}}.session_set_many(
  p_keys text[], p_datas text[], p_ttl_ms double precision[], p_if_versions bigint[])
RETURNS TABLE (i integer, ok boolean, version bigint)
LANGUAGE plpgsql SECURITY INVOKER
AS $$
#variable_conflict use_column
DECLARE
  v_i integer;
BEGIN
  FOR v_i IN SELECT u.o::integer FROM unnest(p_keys) WITH ORDINALITY AS u(k, o) ORDER BY u.k, u.o LOOP
    RETURN QUERY SELECT v_i, w.ok, w.version
      FROM {{schema}}.session_set(p_keys[v_i], p_datas[v_i], p_ttl_ms[v_i], p_if_versions[v_i]) AS w;
  END LOOP;
END
$$;

-- Lockdown (the rule: this file's header). Nobody but the owner (the migrating role) and Supabase's
-- service_role may use the schema, read the tables or call the functions.
DO $$
DECLARE
  v_from text := pg_catalog.concat_ws(', ', 'PUBLIC',
    (SELECT 'anon' FROM pg_catalog.pg_roles WHERE rolname = 'anon'),
    (SELECT 'authenticated' FROM pg_catalog.pg_roles WHERE rolname = 'authenticated'));
  v_service boolean := EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role');
  v_obj text;
BEGIN
  EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA {{schema}} FROM %s', v_from);
  IF v_service THEN GRANT USAGE ON SCHEMA {{schema}} TO service_role; END IF;
  FOREACH v_obj IN ARRAY ARRAY['{{schema}}.migrations', '{{schema}}.sessions', '{{schema}}.session_leases'] LOOP
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
    '{{schema}}.session_cleanup(integer)',
    '{{schema}}.session_acquire_many(text[], text[], double precision[])',
    '{{schema}}.session_commit_many(text[], text[], bigint[], text[], text[], double precision[], double precision[])',
    '{{schema}}.session_set_many(text[], text[], double precision[], bigint[])'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
