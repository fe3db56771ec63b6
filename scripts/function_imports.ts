/**
 * `deno task function-imports`: writes each function's own `supabase/functions/<name>/deno.json`, the
 * import map Supabase's CLI bundles it with on deploy (Supabase recommends one per function). Each lists
 * exactly the root deno.json entries the function's module graph uses, at the root's versions: the
 * root deno.json stays the one place versions are chosen, and a function bundles only what it imports.
 *
 * The root deno.json is what `deno check`, `deno test` and the local gateway use (the nested files are
 * no workspace members and change nothing there); tests/functions_config_test.ts fails when a
 * function's file is out of date, naming this task.
 */
import { join } from "node:path";
import { REPO_ROOT } from "./local_db.ts";

const FUNCTIONS_DIR = join(REPO_ROOT, "supabase", "functions");

/** The function directories: every folder of supabase/functions with an index.ts, but _shared. */
export function functionNames(): string[] {
  return [...Deno.readDirSync(FUNCTIONS_DIR)]
    .filter((entry) => entry.isDirectory && !entry.name.startsWith("_"))
    .map((entry) => entry.name)
    .filter((name) => {
      try {
        return Deno.statSync(join(FUNCTIONS_DIR, name, "index.ts")).isFile;
      } catch {
        return false;
      }
    })
    .toSorted();
}

/** The root deno.json's entries that `name`'s module graph resolves bare specifiers with. */
export async function functionImports(name: string): Promise<Record<string, string>> {
  const root = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json"))) as {
    imports: Record<string, string>;
  };
  const { stdout, stderr, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `./supabase/functions/${name}/index.ts`],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`deno info ${name}: ${new TextDecoder().decode(stderr)}`);
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { dependencies?: { specifier: string }[] }[];
  };
  const used: Record<string, string> = {};
  for (const module of graph.modules) {
    for (const { specifier } of module.dependencies ?? []) {
      if (/^(\.|\/|node:|npm:|file:)/.test(specifier)) continue;
      // An exact entry ("hono"), or the longest prefix entry ("hono/" for "hono/cors"), as Deno resolves.
      const key = specifier in root.imports ? specifier : Object.keys(root.imports)
        .filter((k) => k.endsWith("/") && specifier.startsWith(k))
        .sort((a, b) => b.length - a.length)[0];
      if (!key) throw new Error(`${name}: no root deno.json entry resolves "${specifier}"`);
      used[key] = root.imports[key];
    }
  }
  return Object.fromEntries(Object.entries(used).toSorted(([a], [b]) => a.localeCompare(b)));
}

/** The text each function's deno.json should hold. */
export async function functionDenoJson(name: string): Promise<string> {
  return JSON.stringify({ imports: await functionImports(name) }, null, 2) + "\n";
}

if (import.meta.main) {
  for (const name of functionNames()) {
    const path = join(FUNCTIONS_DIR, name, "deno.json");
    await Deno.writeTextFile(path, await functionDenoJson(name));
    console.log(`wrote ${path}`);
  }
}
