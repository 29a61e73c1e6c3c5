-- 003_sync: spill table for SyncBus events too large for one NOTIFY (payload < 8000 bytes).
--
-- postgresSyncBus sends small envelopes with a plain pg_notify. A larger envelope is stored here by
-- sync_spill(), which NOTIFYs only a short reference `~spill:<id>` in the same transaction, so the row
-- is visible to every listener by the time the notification arrives; listeners read it back with
-- sync_spill_read(). Rows are kept for p_keep_ms (long enough for slow listeners) and deleted by the
-- next spill after that: no background job needed. sync_publish() applies the same rule for callers
-- that reach the database only through functions (botwire/supabase, over HTTP).

CREATE TABLE IF NOT EXISTS {{schema}}.sync_spill (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload    text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);

CREATE INDEX IF NOT EXISTS sync_spill_created_at_idx ON {{schema}}.sync_spill (created_at);

ALTER TABLE {{schema}}.sync_spill ENABLE ROW LEVEL SECURITY;

-- Store one envelope, notify its reference on p_channel, and drop spilled rows older than p_keep_ms.
CREATE OR REPLACE FUNCTION {{schema}}.sync_spill(p_channel text, p_payload text, p_keep_ms double precision DEFAULT 300000)
RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_id bigint;
BEGIN
  DELETE FROM {{schema}}.sync_spill
   WHERE created_at < pg_catalog.clock_timestamp() - p_keep_ms * interval '1 millisecond';
  INSERT INTO {{schema}}.sync_spill (payload) VALUES (p_payload) RETURNING id INTO v_id;
  PERFORM pg_catalog.pg_notify(p_channel, '~spill:' || v_id::text);
  RETURN v_id;
END
$$;

-- Read a spilled envelope back (NULL when it was already cleaned up).
CREATE OR REPLACE FUNCTION {{schema}}.sync_spill_read(p_id bigint)
RETURNS text
LANGUAGE sql STABLE SECURITY INVOKER
AS $$
  SELECT s.payload FROM {{schema}}.sync_spill AS s WHERE s.id = p_id
$$;

-- Publish envelopes on p_channel in order, for callers that cannot send pg_notify themselves
-- (Supabase's Data API calls only functions of an exposed schema: botwire/supabase). Each payload
-- under NOTIFY's 8,000-byte limit goes out as one pg_notify, each larger one through sync_spill, as
-- postgresSyncBus sends them, so its listeners receive both alike. All are delivered at commit, in
-- array order. Returns how many were published (never void: a void function answers HTTP 204 with no
-- body, which a client cannot tell from a gateway's empty answer).
CREATE OR REPLACE FUNCTION {{schema}}.sync_publish(p_channel text, p_payloads text[], p_keep_ms double precision DEFAULT 300000)
RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER
AS $$
DECLARE
  v_payload text;
  v_n integer := 0;
BEGIN
  FOREACH v_payload IN ARRAY COALESCE(p_payloads, '{}'::text[]) LOOP
    IF pg_catalog.octet_length(v_payload) < 8000 THEN
      PERFORM pg_catalog.pg_notify(p_channel, v_payload);
    ELSE
      PERFORM {{schema}}.sync_spill(p_channel, v_payload, p_keep_ms);
    END IF;
    v_n := v_n + 1;
  END LOOP;
  RETURN v_n;
END
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
  EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s', '{{schema}}.sync_spill'::regclass, v_from);
  IF v_service THEN GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {{schema}}.sync_spill TO service_role; END IF;
  -- The identity column's sequence, found by its column.
  EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %s',
    pg_catalog.pg_get_serial_sequence('{{schema}}.sync_spill', 'id')::regclass, v_from);
  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.sync_spill(text, text, double precision)',
    '{{schema}}.sync_spill_read(bigint)',
    '{{schema}}.sync_publish(text, text[], double precision)'
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', v_obj::regprocedure, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO service_role', v_obj::regprocedure);
    END IF;
  END LOOP;
END
$$;
