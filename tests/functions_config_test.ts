/**
 * Deployment wiring for every function in FUNCTIONS: an entrypoint the Supabase CLI
 * finds (supabase/functions/<name>/index.ts) and a [functions.<name>] section in
 * supabase/config.toml that turns the gateway's JWT check off (the functions accept
 * non-JWT `sb_secret_` keys and their own tokens), and a deno.json of its own to bundle with.
 */
import assert from "node:assert/strict";
import { FUNCTIONS } from "../supabase/functions/_shared/functions.ts";
import { functionDenoJson, functionImports, functionNames } from "../scripts/function_imports.ts";

const supabaseDir = new URL("../supabase/", import.meta.url);

/** `[table]` → its `key = value` lines (enough TOML for config.toml's flat function tables). */
function tomlTables(text: string): Map<string, Map<string, string>> {
  const tables = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = line.match(/^\[([^\]]+)\]$/);
    if (header) {
      current = new Map();
      tables.set(header[1].trim(), current);
      continue;
    }
    const pair = line.match(/^([\w-]+)\s*=\s*(.+)$/);
    if (pair && current) current.set(pair[1], pair[2].trim());
  }
  return tables;
}

Deno.test("config.toml: every function has verify_jwt = false and bundles with its own deno.json", async () => {
  const tables = tomlTables(await Deno.readTextFile(new URL("config.toml", supabaseDir)));
  for (const name of Object.keys(FUNCTIONS)) {
    const table = tables.get(`functions.${name}`);
    assert.ok(table, `supabase/config.toml has no [functions.${name}]`);
    assert.equal(table.get("verify_jwt"), "false", `[functions.${name}] verify_jwt`);
    // No import_map: the CLI then takes supabase/functions/<name>/deno.json.
    assert.equal(table.get("import_map"), undefined, `[functions.${name}] import_map`);
  }
  const listed = [...tables.keys()].filter((t) => t.startsWith("functions.")).map((t) => t.slice(10));
  assert.deepEqual(listed.filter((name) => !(name in FUNCTIONS)), [], "config.toml lists unknown functions");
});

Deno.test("each function's deno.json lists exactly the root entries its module graph imports", async () => {
  assert.deepEqual(functionNames(), Object.keys(FUNCTIONS).toSorted());
  for (const name of functionNames()) {
    const path = new URL(`functions/${name}/deno.json`, supabaseDir);
    const actual = await Deno.readTextFile(path).catch(() => "(missing)");
    assert.equal(
      actual,
      await functionDenoJson(name),
      `${path.pathname} is out of date: run deno task function-imports`,
    );
  }
  // What the check above compares against can fail: the openapi function bundles Scalar, health does not.
  assert.ok("@scalar/hono-api-reference" in await functionImports("openapi"));
  assert.ok(!("@scalar/hono-api-reference" in await functionImports("health")));
});

Deno.test("every function has the entrypoint the Supabase CLI looks for", async () => {
  for (const name of Object.keys(FUNCTIONS)) {
    const entry = new URL(`functions/${name}/index.ts`, supabaseDir);
    const source = await Deno.readTextFile(entry).catch(() => null);
    assert.ok(source !== null, `missing supabase/functions/${name}/index.ts`);
    assert.match(
      source,
      /serveFunction\(\w+, \w+_REQUIRES\);/,
      `supabase/functions/${name}/index.ts does not serve`,
    );
  }
});
