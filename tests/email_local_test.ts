/**
 * `deno task start`'s email: with no SMTP_URL, the long-running dispatcher
 * delivers to the local mail catcher, whose page shows what was sent.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV, LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { startLocalEmail } from "../scripts/email_worker.ts";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import { startEmailWorker } from "../supabase/functions/_shared/email/worker.ts";
import { startTestServer } from "./_support/server.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { testEmailConfig, uniqueEmail, waitFor } from "./_support/email.ts";

Deno.test(
  "with no SMTP server configured, an invitation lands in the local mail catcher at once and can be read there",
  // The outbox's NOTIFY wakes the worker: no LISTEN behind a transaction pooler (the next test).
  { ignore: loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).dbPooled },
  async () => {
    // A poll interval far longer than the test may wait: only the outbox's NOTIFY can deliver in time.
    const defaults = loadConfig({ ...LOCAL_ENV, DATABASE_URL: Deno.env.get("DATABASE_URL") }).email;
    assert.equal(defaults.smtpConfigured, false);
    await using server = await startTestServer({ email: { ...defaults, pollIntervalMs: 3_600_000 } });
    const { sql } = server.runtime;
    // The worker gets a pool of its own, so that its sessions can be told apart in pg_stat_activity.
    const workerSql = postgres(server.runtime.config.databaseUrl, {
      max: 2,
      onnotice: () => {},
      connection: { application_name: "email-local-test-worker" },
    });
    const worker = await startLocalEmail(
      {
        runtime: { config: server.runtime.config, sql: workerSql },
        signal: new AbortController().signal,
        mailPorts: { smtp: 0, http: 0 },
      },
    );
    try {
      const webUrl = worker.mailUrl!;
      assert.match(webUrl, /^http:\/\/127\.0\.0\.1:\d+$/, "the catcher's page, which the start banner names");
      const fixture = await createMerchant(sql);
      const address = uniqueEmail("newcomer");
      // The worker's first round is over (its last claim found nothing): it sleeps until woken.
      await waitFor("the worker's first round to finish", async () => {
        const [idle] = await sql`select 1 from pg_stat_activity
          where application_name = 'email-local-test-worker' and state = 'idle'
            and query ~ ${"^\\s*select app\\.claim_emails\\("}`;
        return idle;
      });
      const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
        token: LOCAL_SECRET_KEY,
        body: {
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          type: "invitation",
          users: [{ name: "New <Comer>", email: address }],
        },
      });
      assert.equal(reply.body[0].result, "ok");

      const listed: { id: number; subject: string } = await waitFor(
        "the invitation in the catcher",
        async () => {
          const messages = await (await fetch(`${webUrl}/api/messages`)).json();
          return messages.find((m: { to: { address: string }[] }) => m.to[0]?.address === address);
        },
      );
      assert.match(listed.subject, /invites you to an interview: Fixture interview/);

      const detail = await (await fetch(`${webUrl}/api/messages/${listed.id}`)).json();
      assert.ok(detail.text.includes(reply.body[0].interview_url));

      const index = await (await fetch(`${webUrl}/`)).text();
      assert.ok(index.includes(`href="/messages/${listed.id}"`));
      const page = await (await fetch(`${webUrl}/messages/${listed.id}`)).text();
      assert.ok(page.includes("<iframe sandbox srcdoc="), "the HTML part is shown in a sandbox");
      assert.ok(!page.includes("<Comer>"), "what the message says is escaped on the page");
      assert.ok(page.includes("New &lt;Comer&gt;"));
    } finally {
      await worker.stop();
      await workerSql.end();
    }
  },
);

Deno.test(
  "behind a transaction pooler the worker does not LISTEN: it finds queued messages by polling",
  async () => {
    const catcher = await startMailCatcher();
    await using server = await startTestServer({ email: testEmailConfig(catcher.smtpUrl) });
    const config = { ...server.runtime.config, dbPooled: true };
    // Its own pool straight to the database (not through the pooler, in the pooler pass): a LISTEN would stay
    // that session's last query in pg_stat_activity.
    const workerSql = postgres(Deno.env.get("DIRECT_DATABASE_URL") ?? config.databaseUrl, {
      max: 2,
      onnotice: () => {},
      connection: { application_name: "email-pooled-test-worker" },
    });
    const worker = await startEmailWorker({ ...server.runtime, config, sql: workerSql });
    try {
      const fixture = await createMerchant(server.runtime.sql);
      const address = uniqueEmail("polled");
      const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
        token: LOCAL_SECRET_KEY,
        body: {
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          type: "invitation",
          users: [{ email: address }],
        },
      });
      assert.equal(reply.body[0].result, "ok");
      await catcher.waitFor((m) => m.envelope.to.includes(address));
      const sessions = await server.runtime.sql`select query from pg_stat_activity
        where application_name = 'email-pooled-test-worker'`;
      assert.ok(sessions.length > 0);
      assert.ok(sessions.every((s) => !/^\s*listen\b/i.test(s.query)), JSON.stringify(sessions));
    } finally {
      await worker.stop();
      await workerSql.end();
      await catcher.close();
    }
  },
);
