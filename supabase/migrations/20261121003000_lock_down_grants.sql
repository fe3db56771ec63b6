-- Nothing in this database is for PostgREST's roles or for PUBLIC: the edge
-- functions connect as the database owner, and every read and write goes
-- through them.
--
-- RLS (enabled on every table, no policies) stops anon and authenticated from
-- reading or changing rows, but not everything: on a Supabase project the
-- default privileges grant them ALL on each new table in public, and TRUNCATE
-- (like REFERENCES and TRIGGER) is outside RLS. So their privileges go too.
--
-- The embedded PostgreSQL of `deno task start` / `deno task test` has no anon
-- or authenticated role, hence the guard. service_role is left alone: it
-- bypasses RLS by design, and whoever holds its key is an administrator.
--
-- This migration runs last and may run again (tests/grants_test.ts replays it
-- to check it against Supabase-like grants): every statement is idempotent.

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select from pg_roles where rolname = r) then
      execute format('revoke all on all tables in schema public from %I', r);
      execute format('revoke all on all sequences in schema public from %I', r);
      execute format('revoke all on all functions in schema public from %I', r);
      -- Supabase's default privileges are set for the role that runs migrations
      -- (postgres): revoking them here keeps later tables closed as well.
      execute format('alter default privileges in schema public revoke all on tables from %I', r);
      execute format('alter default privileges in schema public revoke all on sequences from %I', r);
      execute format('alter default privileges in schema public revoke all on functions from %I', r);
      execute format('revoke all on schema app from %I', r);
      execute format('revoke all on all functions in schema app from %I', r);
    end if;
  end loop;
end $$;

revoke all on all tables in schema public from public;
revoke all on all sequences in schema public from public;
revoke all on all functions in schema public from public;
revoke all on schema app from public;

-- PostgreSQL grants EXECUTE on every new function to PUBLIC, and a per-schema
-- default privilege cannot take that away; a migration that adds app functions
-- ends with this same statement (tests/grants_test.ts fails when one does not).
revoke all on all functions in schema app from public;
