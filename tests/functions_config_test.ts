/**
 * Deployment wiring for every function in FUNCTIONS: an entrypoint the Supabase CLI
 * finds (supabase/functions/<name>/index.ts) and a [functions.<name>] section in
 * supabase/config.toml that turns the gateway's JWT check off (the functions accept
 * non-JWT `sb_secret_` keys and their own tokens) and points at the root deno.json.
 */
import assert from "node:assert/strict";
import { FUNCTIONS } from "../supabase/functions/_shared/functions.ts";

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

Deno.test("config.toml: every function has verify_jwt = false and the root deno.json as import map", async () => {
  const tables = tomlTables(await Deno.readTextFile(new URL("config.toml", supabaseDir)));
  for (const name of Object.keys(FUNCTIONS)) {
    const table = tables.get(`functions.${name}`);
    assert.ok(table, `supabase/config.toml has no [functions.${name}]`);
    assert.equal(table.get("verify_jwt"), "false", `[functions.${name}] verify_jwt`);
    const importMap = JSON.parse(table.get("import_map") ?? "null");
    assert.equal(typeof importMap, "string", `[functions.${name}] import_map`);
    // Relative to supabase/, as the CLI resolves it.
    const resolved = new URL(importMap, supabaseDir);
    assert.equal(
      resolved.href,
      new URL("../deno.json", import.meta.url).href,
      `[functions.${name}] import_map`,
    );
    assert.ok((await Deno.stat(resolved)).isFile);
  }
  const listed = [...tables.keys()].filter((t) => t.startsWith("functions.")).map((t) => t.slice(10));
  assert.deepEqual(listed.filter((name) => !(name in FUNCTIONS)), [], "config.toml lists unknown functions");
});

Deno.test("every function has the entrypoint the Supabase CLI looks for", async () => {
  for (const name of Object.keys(FUNCTIONS)) {
    const entry = new URL(`functions/${name}/index.ts`, supabaseDir);
    const source = await Deno.readTextFile(entry).catch(() => null);
    assert.ok(source !== null, `missing supabase/functions/${name}/index.ts`);
    assert.match(source, /Deno\.serve\(/, `supabase/functions/${name}/index.ts does not serve`);
  }
});
