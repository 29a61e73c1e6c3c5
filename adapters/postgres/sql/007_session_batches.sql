-- 007_session_batches: take or commit many leases, or write many records, in one call.
--
-- On this machine a statement's round trip costs client and server ~125 µs of CPU whatever it does
-- (waking the backend and then the client), more than the SQL of a session acquire or commit.
-- Acquires, commits and sets that arrive while one of their kind is in flight now wait for it and
-- then go together, one statement and one transaction for the lot: one WAL flush for many writes.
-- Each caller still waits one round trip. The functions below call the single-key ones in sorted key order (two
-- batches never lock the same rows in opposite orders: every lease operation locks a key's lease
-- row before its record, and plain writes lock records only) and answer one row per input, tagged
-- with its position (`i`, 1-based). One failing call fails the whole statement and writes nothing;
-- the adapter then sends each call on its own, so only the bad one fails.

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

-- Nobody but the owner (and Supabase's service_role) may call them, as for 001's functions.
DO $$
DECLARE
  v_fn text;
  v_role text;
BEGIN
  FOREACH v_fn IN ARRAY ARRAY[
    '{{schema}}.session_acquire_many(text[], text[], double precision[])',
    '{{schema}}.session_commit_many(text[], text[], bigint[], text[], text[], double precision[], double precision[])',
    '{{schema}}.session_set_many(text[], text[], double precision[], bigint[])'
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
END
$$;
