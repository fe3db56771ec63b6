/**
 * Only the database owner (the edge functions) gets in: RLS on every public table, and no privilege for
 * PUBLIC, nor for Supabase's anon and authenticated roles, on the tables, sequences and functions, schema
 * `app` included. The Supabase roles are checked by replaying the lock-down migration over Supabase's grants
 * in a transaction that is rolled back (withTransaction): the embedded PostgreSQL has no such roles of its own.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { fileDatabase, withTransaction } from "./_support/suite.ts";

const db = fileDatabase();
const LOCK_DOWN = new URL("../supabase/migrations/20261121003000_lock_down_grants.sql", import.meta.url);
const TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER";

/** Every object of ours that `role` holds any privilege on, as "kind name" strings; [] is locked down. */
async function privilegesOf(tx: postgres.TransactionSql, role: string): Promise<string[]> {
  const rows = await tx<{ what: string }[]>`
    select 'table ' || c.relname as what
      from pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
       and has_table_privilege(${role}, c.oid, ${TABLE_PRIVILEGES})
    union all
    select 'sequence ' || c.relname
      from pg_class c
     where c.relnamespace = 'public'::regnamespace
       -- The CASE keeps the check off other relations (it raises on them), whatever order the planner picks.
       and case when c.relkind = 'S' then has_sequence_privilege(${role}, c.oid, 'USAGE, SELECT, UPDATE') end
    union all
    select 'function ' || p.oid::regprocedure::text
      from pg_proc p
     where p.pronamespace in ('public'::regnamespace, 'app'::regnamespace)
       and has_function_privilege(${role}, p.oid, 'EXECUTE')
    union all
    select 'schema app' where has_schema_privilege(${role}, 'app', 'USAGE, CREATE')
    order by 1`;
  return rows.map((row) => row.what);
}

Deno.test("row level security is on for every table in schema public", async () => {
  const tables = await db<{ relname: string; relrowsecurity: boolean }[]>`
    select relname, relrowsecurity from pg_class
     where relnamespace = 'public'::regnamespace and relkind in ('r', 'p') order by relname`;
  assert.ok(tables.some((t) => t.relname === "merchants"), "the schema is there to check");
  assert.deepEqual(tables.filter((t) => !t.relrowsecurity).map((t) => t.relname), []);
});

Deno.test(
  "PUBLIC has no privilege on any table, sequence or function of ours, nor on schema app",
  withTransaction(db, async (tx) => {
    // A role with no grants of its own holds exactly what PUBLIC does.
    const probe = `grants_probe_${crypto.randomUUID().replaceAll("-", "")}`;
    await tx.unsafe(`create role ${probe} nologin`);
    const [{ count }] =
      await tx`select count(*)::int as count from pg_proc where pronamespace = 'app'::regnamespace`;
    assert.ok(count >= 10, `app's functions are there to check (${count})`);
    assert.deepEqual(await privilegesOf(tx, probe), []);
  }),
);

Deno.test(
  "on a Supabase-like database, the lock-down migration takes every privilege from anon and authenticated, " +
    "for tables made later too",
  withTransaction(db, async (tx) => {
    // Supabase's roles, and the grants its default privileges (or a careless migration) give them.
    await tx.unsafe(`
          do $$ begin
            if not exists (select from pg_roles where rolname = 'anon') then create role anon nologin; end if;
            if not exists (select from pg_roles where rolname = 'authenticated') then
              create role authenticated nologin;
            end if;
          end $$;
          alter default privileges in schema public grant all on tables to anon, authenticated;
          alter default privileges in schema public grant all on sequences to anon, authenticated;
          alter default privileges in schema public grant all on functions to anon, authenticated;
          grant all on all tables in schema public to anon, authenticated;
          grant all on all sequences in schema public to anon, authenticated;
          grant usage on schema app to anon, authenticated;
          grant execute on all functions in schema app to anon, authenticated;`);
    for (const role of ["anon", "authenticated"]) {
      const granted = await privilegesOf(tx, role);
      assert.ok(granted.includes("table merchants"), `${role} starts out with Supabase's grants`);
      assert.ok(granted.includes("schema app"), `${role} starts out with Supabase's grants`);
    }

    await tx.unsafe(await Deno.readTextFile(LOCK_DOWN));
    await tx.unsafe(`create table public.grants_probe_later (id int primary key)`);
    for (const role of ["anon", "authenticated"]) {
      assert.deepEqual(await privilegesOf(tx, role), [], role);
    }
  }),
);
