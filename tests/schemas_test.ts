/**
 * supabase/schemas/ holds the current definition of every table, view, type, function and schema, as
 * `deno task schemas` reads it from the catalog of a freshly migrated database. This file compares the
 * committed files with the catalog of the test database, which `deno task test` builds from the migrations.
 */
import assert from "node:assert/strict";
import { catalogFiles, catalogFilesIn, committedFiles, differences } from "../scripts/schemas.ts";
import { fileDatabase, withTransaction } from "./_support/suite.ts";

const db = fileDatabase();

Deno.test("supabase/schemas/ is what the migrations define", async () => {
  const diff = differences(await catalogFiles(db), await committedFiles());
  const lines = [
    ...diff.changed.map((p) => `  changed: ${p}`),
    ...diff.missing.map((p) => `  missing: ${p}`),
    ...diff.stale.map((p) => `  no longer defined: ${p}`),
  ];
  assert.ok(
    lines.length === 0,
    `supabase/schemas/ differs from what the migrations produce:\n${lines.join("\n")}\n` +
      "Run `deno task schemas` and commit supabase/schemas/.",
  );
});

Deno.test("every app function's file carries its definition and its contract (COMMENT ON)", async () => {
  const files = await committedFiles();
  const functions = await db<{ name: string }[]>`
    select proname as name from pg_proc where pronamespace = 'app'::regnamespace order by 1`;
  assert.ok(functions.length >= 20, `app's functions are there to check (${functions.length})`);
  const uncommented: string[] = [];
  for (const { name } of functions) {
    const entry = [...files].find(([path]) => path.endsWith(`/app.${name}.sql`));
    assert.ok(entry, `no file for app.${name}: run \`deno task schemas\``);
    assert.match(entry[1], new RegExp(`CREATE OR REPLACE FUNCTION app\\.${name}\\(`), entry[0]);
    if (!new RegExp(`comment on function app\\.${name}\\(.*\\) is \\$\\$\\s*\\S`).test(entry[1])) {
      uncommented.push(name);
    }
  }
  assert.deepEqual(
    uncommented,
    [],
    "Every app function states its contract as `comment on function app.<name> is $$...$$;` in a migration.",
  );
});

Deno.test(
  "a change the migrations make shows as a changed file",
  withTransaction(db, async (tx) => {
    await tx`comment on function app.role_rank(public.member_role) is 'changed by a migration'`;
    await tx`create table public.schemas_probe (id int primary key)`;
    const diff = differences(await catalogFilesIn(tx), await committedFiles());
    assert.deepEqual(diff, {
      changed: ["invitations/app.role_rank.sql"],
      missing: ["other/public.schemas_probe.sql"],
      stale: [],
    });
  }),
);
