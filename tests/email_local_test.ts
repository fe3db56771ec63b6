/**
 * `deno task start`'s email: with no SMTP_URL, the long-running dispatcher
 * delivers to the local mail catcher, whose page shows what was sent.
 */
import assert from "node:assert/strict";
import { loadConfig, LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { startLocalEmail } from "../scripts/email_worker.ts";
import { startTestServer } from "./_support/server.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { sleep, uniqueEmail } from "./_support/email.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "with no SMTP server configured, an invitation lands in the local mail catcher at once and can be read there",
  opts,
  async () => {
    // A poll interval far longer than the test: only the outbox's NOTIFY can make delivery prompt.
    const defaults = loadConfig({ DATABASE_URL: Deno.env.get("DATABASE_URL") }).email;
    assert.equal(defaults.smtpConfigured, false);
    await using server = await startTestServer({ email: { ...defaults, pollIntervalMs: 60_000 } });
    const worker = await startLocalEmail({ runtime: server.runtime, signal: new AbortController().signal }, {
      smtp: 0,
      http: 0,
    });
    try {
      const webUrl = worker.name.match(/http:\/\/127\.0\.0\.1:\d+/)![0];
      const fixture = await createMerchant(server.runtime.sql);
      const address = uniqueEmail("newcomer");
      await sleep(300); // the worker's first round, which finds nothing, is over: it sleeps now
      const started = performance.now();
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

      let listed: { id: number; subject: string; to: { address: string }[] } | undefined;
      while (!listed && performance.now() - started < 10_000) {
        const messages = await (await fetch(`${webUrl}/api/messages`)).json();
        listed = messages.find((m: { to: { address: string }[] }) => m.to[0]?.address === address);
        if (!listed) await sleep(50);
      }
      assert.ok(listed, "the invitation reached the mail catcher");
      assert.ok(performance.now() - started < 5000, "woken by the queued message, not by the poll");
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
    }
  },
);
