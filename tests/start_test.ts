/**
 * `deno task start`, as a newcomer runs it (here against the test database, as with SUPABASE_DB_URL set):
 * the curl it prints registers a candidate, and a terminal's Ctrl-C stops it cleanly.
 */
import assert from "node:assert/strict";
import { freePort, REPO_ROOT } from "../scripts/local_db.ts";
import { DEMO_USER_ID, FREE_LOCAL_PORTS } from "../scripts/start.ts";
import { waitFor } from "./_support/email.ts";
import { asymmetricSigner } from "./_support/credentials.ts";

Deno.test(
  "deno task start: the printed curl registers a candidate, and a terminal's Ctrl-C stops it cleanly",
  async () => {
    const child = new Deno.Command(Deno.execPath(), {
      // Free ports only: a local stack (`deno task start` on its default ports) may be running beside the tests.
      args: ["task", "start", "--port", String(freePort()), ...FREE_LOCAL_PORTS],
      cwd: REPO_ROOT,
      // Its own process group, like a job in a terminal: the Ctrl-C below goes to the whole group.
      detached: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    // Everything it prints, read as it comes (a pipe nobody reads would block its log lines).
    let printed = "";
    const reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) printed += chunk;
    })();
    let exited = false;
    child.status.then(() => exited = true);
    try {
      await waitFor("the banner", async () => {
        if (exited) throw new Error(`deno task start exited:\n${printed}\n${await stderr}`);
        return printed.includes("Ctrl-C stops everything.");
      }, 60_000);
      // Every curl it prints, as pasted into a shell: the user token's, the service key's, the invitation's,
      // the API key's and micro1's invite.
      const lines = printed.split("\n");
      const curls: string[] = [];
      lines.forEach((line, i) => {
        if (!line.trimStart().startsWith("curl ")) return;
        let last = i;
        while (lines[last].endsWith("\\")) last++;
        curls.push(lines.slice(i, last + 1).join("\n"));
      });
      assert.equal(curls.length, 5, printed);
      const registered = [];
      for (const curl of curls) {
        const run = await new Deno.Command("bash", { args: ["-c", curl], stdout: "piped" }).output();
        assert.equal(run.code, 0);
        const reply = JSON.parse(new TextDecoder().decode(run.stdout));
        if (curl.includes("/interview/invite")) {
          assert.equal(reply.status, true, JSON.stringify(reply));
          assert.match(
            reply.data.invitations[0].invite_url,
            /\/interview\/take\/[0-9a-f-]{36}\/\?interview_token=/,
          );
          continue;
        }
        const rows = reply;
        assert.equal(rows.length, 1);
        assert.equal(rows[0].result, "ok", JSON.stringify(rows));
        assert.match(rows[0].interview_url, /\/interview\/take\/[0-9a-f-]{36}\/\?interview_token=/);
        registered.push(rows[0]);
      }

      // The invitation can be read where the banner says, with the link the API returned.
      const invited = registered[2];
      const mailUrl = printed.match(/read it at (http:\/\/\S+?)\)?:?$/m)![1];
      const message = await waitFor("the invitation in the mail catcher", async () => {
        const messages = await (await fetch(`${mailUrl}/api/messages`)).json();
        return messages.find((m: { to: { address: string }[] }) => m.to[0]?.address === invited.email);
      });
      const detail = await (await fetch(`${mailUrl}/api/messages/${message.id}`)).json();
      assert.ok(detail.text.includes(invited.interview_url));

      // The link opens the interview app stand-in deno task start serves at INTERVIEW_BASE_URL.
      const appUrl = printed.match(/^Interview app .*: (http:\/\/\S+)$/m)![1];
      assert.ok(invited.interview_url.startsWith(`${appUrl}/interview/take/`), invited.interview_url);
      const page = await fetch(invited.interview_url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /Mary Jane[\s\S]*registered[\s\S]*Start the interview/);

      // An ES256 token the local stack cannot verify (its key endpoint, like a project with only an HS256
      // secret, lists no public key) is a 401, not "Signing keys unavailable".
      const apiUrl = printed.match(/^JobMojito registration API is up: (\S+)$/m)![1];
      const stranger = await (await asymmetricSigner("ES256")).sign(DEMO_USER_ID);
      const refused = await fetch(`${apiUrl}/functions/v1/job-interview-register-users`, {
        method: "POST",
        headers: { authorization: `Bearer ${stranger}`, "content-type": "application/json" },
        body: "{}",
      });
      assert.deepEqual([refused.status, await refused.json()], [401, { error: "Invalid token" }]);
    } finally {
      // A terminal's Ctrl-C reaches every process of the job: start.ts gets it from the terminal, and once
      // more from `deno task`, which forwards it.
      Deno.kill(-child.pid, "SIGINT");
    }
    const status = await child.status;
    await reading;
    assert.equal(status.code, 0, `${printed}\n${await stderr}`);
    assert.match(printed, /SIGINT received, shutting down\.\.\.[\s\S]*Stopped \(\d+ ms\)\./);
    assert.match(printed, /Connecting to local database/);
    assert.doesNotMatch(printed + await stderr, /remote database|approve-scripts/);
  },
);

for (const option of ["--port", "--db-port", "--mail-port", "--smtp-port", "--interview-port"]) {
  Deno.test(`deno task start: a taken ${option} stops it at once, naming the option`, async () => {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const takenPort = String((taken.addr as Deno.NetAddr).port);
    const dataDir = await Deno.makeTempDir({ prefix: "start-test-" });
    // The embedded database's port is only checked when there is no external one.
    const env = Deno.env.toObject();
    delete env.DATABASE_URL;
    delete env.SUPABASE_DB_URL;
    try {
      const ports: Record<string, string> = {
        "--port": String(freePort()),
        "--db-port": String(freePort()),
        "--mail-port": "0",
        "--smtp-port": "0",
        "--interview-port": "0",
        [option]: takenPort,
      };
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["task", "start", "--data-dir", dataDir, ...Object.entries(ports).flat()],
        cwd: REPO_ROOT,
        env,
        clearEnv: true,
        stdin: "null",
      }).output();
      const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      assert.equal(run.code, 1, output);
      assert.match(output, new RegExp(`127\\.0\\.0\\.1:${takenPort} is already in use.*${option}\\b`));
      assert.equal([...Deno.readDirSync(dataDir)].length, 0, "no database was started");
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  });
}
