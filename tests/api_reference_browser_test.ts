/**
 * GET /openapi/reference in a real browser (Debian's chromium, tests/_support/browser.ts): the page runs Scalar's script
 * and renders the API document it embeds. The script is the version the deployment pins, taken from its
 * npm package and served on loopback through API_REFERENCE_SCRIPT_URL, as a deployment that hosts its own
 * copy would (tests reach nothing but loopback).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { REPO_ROOT } from "../scripts/local_db.ts";
import { launchChromium } from "./_support/browser.ts";
import { startTestServer } from "./_support/server.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

sharedAcrossTests();

/** Scalar's standalone bundle at the version the default URL pins, unpacked from npm once into .local/. */
async function scalarBundle(): Promise<string> {
  const version = loadConfig(LOCAL_ENV).apiReferenceScriptUrl.match(/@scalar\/api-reference@([^/]+)\//)![1];
  const dir = join(REPO_ROOT, ".local", "cache", `scalar-api-reference-${version}`);
  const file = join(dir, "package", "dist", "browser", "standalone.js");
  if (await Deno.stat(file).then(() => true, () => false)) return file;
  await Deno.mkdir(dir, { recursive: true });
  const pack = await new Deno.Command("npm", {
    args: ["pack", `@scalar/api-reference@${version}`, "--silent"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(pack.success, new TextDecoder().decode(pack.stderr));
  const tarball = new TextDecoder().decode(pack.stdout).trim().split("\n").pop()!;
  const untar = await new Deno.Command("tar", {
    args: ["xzf", tarball, "package/dist/browser/standalone.js"],
    cwd: dir,
  }).output();
  assert.ok(untar.success, "tar");
  await Deno.remove(join(dir, tarball));
  return file;
}

Deno.test("the API reference page renders the document in headless Chromium", async () => {
  const bundle = await Deno.readFile(await scalarBundle());
  await using scripts = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(bundle, { headers: { "content-type": "text/javascript" } }),
  );
  const scriptUrl = `http://127.0.0.1:${scripts.addr.port}/standalone.js`;
  const config = loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV, API_REFERENCE_SCRIPT_URL: scriptUrl });
  await using server = await startTestServer(config);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.functionsUrl}/openapi/reference`);
    // Rendered by the script, not merely present in the JSON the page embeds.
    const title = page.locator("h1.section-header-label");
    await title.waitFor({ timeout: 20_000 });
    assert.equal((await title.innerText()).trim(), "JobMojito-compatible registration API");
    await page.getByText("Register users for an interview").first().waitFor({ timeout: 20_000 });
  } finally {
    await browser.close();
  }
});
