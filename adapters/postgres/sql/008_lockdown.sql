-- 008_lockdown: every botwire object, named one by one, usable only by its owner and service_role.
--
-- The rule (every migration from here on follows it): a migration ends with a lockdown block that
-- names each table, sequence and function it creates (or re-creates with DROP + CREATE), in the
-- shape of the block below:
--   * REVOKE ALL … FROM PUBLIC, and from Supabase's client roles anon and authenticated where they
--     exist. PUBLIC holds EXECUTE on every new function by default, and a database may grant anon
--     and authenticated rights on new objects by default (ALTER DEFAULT PRIVILEGES).
--   * GRANT to service_role where it exists (Supabase's server-side key; BYPASSRLS, but it still
--     needs grants): USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on tables, EXECUTE on functions.
--     Sequences get nothing: identity columns draw from them without the inserting role's rights.
--   * The migrating role keeps everything as the owner.
--   * Objects are listed by name, never "ALL … IN SCHEMA" or "whatever is in the schema": botwire
--     touches only what it created. A name or signature that does not exist fails the migration
--     (the ::regclass / ::regprocedure casts), so the list cannot silently go stale.
-- CREATE OR REPLACE keeps a function's privileges, so replacing a function needs no new block.
--
-- Why this migration: 002–005 revoked nothing, so their functions stayed executable by PUBLIC, and
-- 001's block used ALL TABLES/FUNCTIONS IN SCHEMA. This block repeats the lockdown for every object
-- of 001–007 (and the migrations table), so a database migrated before it ends in the same state as
-- a fresh one, whatever grants or default privileges it picked up in between.

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

  FOREACH v_obj IN ARRAY ARRAY[
    '{{schema}}.migrations',      -- migrate()'s record
    '{{schema}}.sessions',        -- 001
    '{{schema}}.jobs',            -- 002
    '{{schema}}.job_waiters',     -- 002
    '{{schema}}.sync_spill',      -- 003
    '{{schema}}.rate_limits',     -- 004
    '{{schema}}.session_leases'   -- 006
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s', v_obj::regclass, v_from);
    IF v_service THEN
      EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO service_role', v_obj::regclass);
    END IF;
  END LOOP;

  -- The identity columns' sequences, found by their column.
  FOREACH v_obj IN ARRAY ARRAY[
    pg_catalog.pg_get_serial_sequence('{{schema}}.jobs', 'seq'),      -- 002
    pg_catalog.pg_get_serial_sequence('{{schema}}.sync_spill', 'id')  -- 003
  ] LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM %s', v_obj::regclass, v_from);
  END LOOP;

  FOREACH v_obj IN ARRAY ARRAY[
    -- 001
    '{{schema}}.session_get(text[])',
    '{{schema}}.session_set(text, text, double precision, bigint)',
    '{{schema}}.session_delete(text, bigint)',
    '{{schema}}.session_touch(text, double precision)',
    '{{schema}}.session_acquire(text, text, double precision)',
    '{{schema}}.session_commit(text, text, bigint, text, text, double precision, double precision)',
    '{{schema}}.session_extend(text, text, double precision)',
    '{{schema}}.session_release(text, text)',
    '{{schema}}.session_cleanup(integer)',
    -- 002
    '{{schema}}.job_wake(text)',
    '{{schema}}.job_add(text, text, text, integer, double precision, integer, text, double precision, double precision, double precision, boolean)',
    '{{schema}}.job_claim(text[], integer, double precision, text, double precision, double precision, text)',
    '{{schema}}.job_heartbeat(text, text, double precision, double precision, double precision, text)',
    '{{schema}}.job_complete(text, text, text, double precision)',
    '{{schema}}.job_complete_many(text[], text[], text[], double precision)',
    '{{schema}}.job_partial(text, text, text, text, double precision, double precision, text)',
    '{{schema}}.job_fail(text, text, text, double precision, double precision)',
    '{{schema}}.job_release(text, text, double precision)',
    '{{schema}}.job_retry(text, double precision)',
    '{{schema}}.job_cancel(text, double precision)',
    '{{schema}}.job_get(text)',
    '{{schema}}.job_list(text, text, integer, double precision, text)',
    '{{schema}}.job_reclaim(text, double precision, integer, double precision)',
    '{{schema}}.job_count_due(text[], double precision)',
    '{{schema}}.job_remove_finished(text[], double precision, integer)',
    -- 003
    '{{schema}}.sync_spill(text, text, double precision)',
    '{{schema}}.sync_spill_read(bigint)',
    -- 004
    '{{schema}}.rate_limit_hit(text, integer, double precision, boolean)',
    '{{schema}}.rate_limit_cleanup(integer)',
    -- 005 (its job_release replaces 002's, same signature)
    '{{schema}}.job_complete_claim(text[], text[], text[], double precision, text[], integer, double precision, text, double precision)',
    -- 007
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
