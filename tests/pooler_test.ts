/**
 * Horizontal scale as on hosted Supabase: two API processes (`scripts/start.ts`, each with its email
 * dispatcher) on one database through a transaction pooler. Runs in `deno task test`'s pooler pass, where
 * DATABASE_URL is PgBouncer in transaction mode (scripts/pgbouncer.ts) and DIRECT_DATABASE_URL the database.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV, LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { freePort, REPO_ROOT } from "../scripts/local_db.ts";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import { FREE_LOCAL_PORTS } from "../scripts/start.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { waitFor } from "./_support/email.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

const pooled = loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).dbPooled;
const direct = Deno.env.get("DIRECT_DATABASE_URL");
// Child processes and their pipes outlive the test body by a moment.
sharedAcrossTests();

/** One API process as `deno task start` runs it against an external database, sending through `smtpUrl`. */
async function startApi(smtpUrl: string) {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/start.ts", "--port", String(port), ...FREE_LOCAL_PORTS],
    cwd: REPO_ROOT,
    env: {
      ...LOCAL_ENV,
      SMTP_URL: smtpUrl,
      EMAIL_FROM_ADDRESS: "no-reply@pooler.example",
      EMAIL_POLL_INTERVAL_MS: "100",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let printed = "";
  const reading = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) printed += chunk;
  }));
  let exited = false;
  child.status.then(() => exited = true);
  await waitFor("an API process to start", () => {
    if (exited) throw new Error(`scripts/start.ts exited:\n${printed}`);
    return printed.includes("Ctrl-C stops everything.");
  }, 60_000);
  return {
    functionsUrl: `http://127.0.0.1:${port}/functions/v1`,
    printed: () => printed,
    async stop() {
      child.kill("SIGINT");
      const status = await child.status;
      await reading;
      assert.equal(status.code, 0, printed);
    },
  };
}

Deno.test({
  name: "two API processes through PgBouncer: credits spent once, a link redeemed once, each email sent once",
  ignore: !pooled || !direct,
  async fn() {
    const sql = postgres(direct!, { max: 4, onnotice: () => {} });
    const catcher = await startMailCatcher();
    const apis = await Promise.all([startApi(catcher.smtpUrl), startApi(catcher.smtpUrl)]);
    try {
      const fixture = await createMerchant(sql, { credits: 40 });
      // 120 single-user invitations for 40 credits, dealt alternately to the two processes.
      const emails = Array.from({ length: 120 }, (_, i) => `c${i}@${fixture.merchantId.slice(0, 8)}.pool`);
      const replies = await Promise.all(
        emails.map((email, i) =>
          callFunction(apis[i % 2].functionsUrl, "job-interview-register-users", {
            token: LOCAL_SECRET_KEY,
            body: {
              merchant_id: fixture.merchantId,
              interview_id: fixture.interviewId,
              type: "invitation",
              users: [{ email }],
            },
          })
        ),
      );
      assert.deepEqual(
        new Set(replies.map((r) => r.status)),
        new Set([200]),
        JSON.stringify(replies[0].body),
      );
      const ok = replies.filter((r) => r.body[0].result === "ok");
      const footprint = await merchantFootprint(sql, fixture.merchantId);
      assert.equal(footprint.credits, 0, "every credit spent, none twice");
      assert.equal(footprint.registrations, 40);
      const invited = new Set(ok.map((r) => r.body[0].email as string));
      assert.equal(invited.size, 40);

      // Both dispatchers poll the one outbox: one invitation per registration, none twice. A send is
      // recorded after the SMTP server accepted it: wait for both.
      const recorded = async () => {
        const [{ sent }] = await sql<{ sent: number }[]>`select count(*)::int as sent from email_outbox
          where merchant_id = ${fixture.merchantId} and status = 'sent'`;
        return sent;
      };
      await waitFor("the invitations, sent and recorded", async () => await recorded() === 40);
      const ours = catcher.messages().filter((m) => invited.has(m.envelope.to[0]));
      assert.equal(ours.length, 40, "each invitation arrived once");
      assert.equal(new Set(ours.map((m) => m.envelope.to[0])).size, 40);

      // One link redeemed by 20 requests spread over both processes: exactly one succeeds.
      const link = ok.find((r) => r.body[0].email === [...invited][0])!.body[0].interview_url;
      const redeems = await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) =>
            callFunction(apis[i % 2].functionsUrl, "interview-token-redeem", {
              body: { interview_token: tokenOf(link) },
            }),
        ),
      );
      assert.equal(redeems.filter((r) => r.status === 200).length, 1);
      assert.equal(redeems.filter((r) => r.status === 410).length, 19);
    } finally {
      await Promise.all(apis.map((api) => api.stop()));
      await catcher.close();
      await sql.end();
    }
  },
});
