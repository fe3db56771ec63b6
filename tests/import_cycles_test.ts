/**
 * No import cycles among the project's modules (supabase/functions, scripts, tests), type-only imports
 * included: a cycle means two modules each hold something the other needs, and one of those names belongs
 * elsewhere. The graph is `deno info --json`'s, for a root module that imports every one of them.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { REPO_ROOT } from "../scripts/local_db.ts";

const DIRS = ["supabase/functions", "scripts", "tests"];

async function projectModules(): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (/\.tsx?$/.test(entry.name)) found.push(path);
    }
  };
  for (const dir of DIRS) await walk(join(REPO_ROOT, dir));
  return found.sort();
}

interface DenoInfo {
  modules: {
    specifier: string;
    dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
  }[];
}

/** Each project module's imports of other project modules, by path relative to the repository. */
async function importGraph(): Promise<Map<string, string[]>> {
  const modules = await projectModules();
  const dir = await Deno.makeTempDir({ prefix: "import-graph-" });
  try {
    const root = join(dir, "root.ts");
    await Deno.writeTextFile(root, modules.map((m) => `import "${pathToFileURL(m).href}";\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(REPO_ROOT, "deno.json"), root],
      cwd: REPO_ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const info: DenoInfo = JSON.parse(new TextDecoder().decode(out.stdout));
    const ours = (specifier: string) =>
      specifier.startsWith("file://") && !specifier.includes("/node_modules/") &&
      specifier.startsWith(pathToFileURL(REPO_ROOT).href + "/");
    const name = (specifier: string) => relative(REPO_ROOT, new URL(specifier).pathname);
    const graph = new Map<string, string[]>();
    for (const module of info.modules) {
      if (!ours(module.specifier)) continue;
      const deps = (module.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => !!s && ours(s));
      graph.set(name(module.specifier), [...new Set(deps.map(name))].sort());
    }
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Strongly connected components of more than one module (or a module importing itself): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

Deno.test("the cycle finder finds a cycle", () => {
  const graph = new Map([["a.ts", ["b.ts"]], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]], ["d.ts", ["a.ts"]]]);
  assert.deepEqual(cycles(graph), [["a.ts", "b.ts", "c.ts"]]);
});

Deno.test("the project's modules import each other without cycles", async () => {
  const graph = await importGraph();
  assert.ok(graph.has("supabase/functions/_shared/config.ts"), `the graph has our modules (${graph.size})`);
  assert.ok(graph.size > 50, `the graph has our modules (${graph.size})`);
  const found = cycles(graph);
  assert.deepEqual(found, [], `import cycles:\n${found.map((c) => "  " + c.join(" <-> ")).join("\n")}`);
});
