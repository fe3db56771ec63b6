/**
 * Exactly-once while dispatchers stay alive, with several running at once;
 * at-least-once, recognisably, when one dies between the SMTP server's
 * acceptance and recording it.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import { dispatcherFor, messagesTo, sleep, startEmailTestEnv } from "./_support/email.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";

const env = await startEmailTestEnv({ reminderScheduleSeconds: [] });
const { sql, server, catcher } = env;
const opts = { sanitizeOps: false, sanitizeResources: false };
globalThis.addEventListener("unload", () => env.close());

async function invite(merchantId: string, interviewId: string, addresses: string[]) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: merchantId,
      interview_id: interviewId,
      type: "invitation",
      users: addresses.map((email) => ({ email })),
    },
  });
  assert.equal(reply.status, 200);
  assert.ok(reply.body.every((row: { result: string }) => row.result === "ok"));
}

Deno.test(
  "five dispatchers at once over 500 queued messages: each message delivered exactly once",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const domain = `${fixture.merchantId.slice(0, 8)}.bulk.example`;
    const addresses = Array.from({ length: 500 }, (_, i) => `candidate-${i}@${domain}`);
    await invite(fixture.merchantId, fixture.interviewId, addresses);

    // Each dispatcher has its own database pool and SMTP connections, as separate processes would.
    const pools = Array.from(
      { length: 5 },
      () => postgres(server.runtime.config.databaseUrl, { max: 3, onnotice: () => {} }),
    );
    const dispatchers = pools.map((pool) =>
      dispatcherFor(server.runtime, pool, { batchSize: 10, concurrency: 4 })
    );
    try {
      const summaries = await Promise.all(dispatchers.map((d) => d.dispatch()));
      const ours = catcher.messages().filter((m) => m.envelope.to[0].endsWith(`@${domain}`));
      assert.equal(ours.length, 500, "every message arrived");
      assert.equal(new Set(ours.map((m) => m.envelope.to[0])).size, 500, "each candidate got one");
      assert.equal(new Set(ours.map((m) => m.parsed.messageId)).size, 500, "no Message-ID twice");
      assert.ok(
        summaries.filter((s) => s.sent > 0).length >= 2,
        `the dispatchers shared the work: ${JSON.stringify(summaries.map((s) => s.sent))}`,
      );
      const rows = await sql`select status::text, attempts, count(*)::int from email_outbox
      where merchant_id = ${fixture.merchantId} group by 1, 2`;
      assert.deepEqual(rows.map((r) => ({ ...r })), [{ status: "sent", attempts: 1, count: 500 }]);
    } finally {
      for (const d of dispatchers) d.close();
      await Promise.all(pools.map((pool) => pool.end()));
    }
  },
);

Deno.test(
  "a dispatcher killed between the server's acceptance and the record: retried, and the duplicate carries the same Message-ID",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const address = `crash-${fixture.merchantId.slice(0, 8)}@candidates.example`;
    await invite(fixture.merchantId, fixture.interviewId, [address]);
    const [{ id: outboxId }] =
      await sql`select id from email_outbox where merchant_id = ${fixture.merchantId}`;

    // The first copy is accepted only once the test holds the row's lock, so the
    // dispatcher's record of it has to wait: it is provably between the two.
    const blocker = await sql.reserve();
    let locked = false;
    await using crashCatcher = await startMailCatcher({
      onMessage: async (message) => {
        if (!message.envelope.to.includes(address) || locked) return;
        await blocker`begin`;
        await blocker`select 1 from email_outbox where id = ${outboxId} for update`;
        locked = true;
      },
    });
    const worker = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../scripts/email_worker.ts", import.meta.url).pathname],
      env: {
        DATABASE_URL: server.runtime.config.databaseUrl,
        SMTP_URL: crashCatcher.smtpUrl,
        EMAIL_FROM_ADDRESS: "no-reply@jobs.example",
        EMAIL_FROM_NAME: "Deployment Default",
        EMAIL_LEASE_SECONDS: "3",
        EMAIL_SEND_TIMEOUT_MS: "1000",
        EMAIL_POLL_INTERVAL_MS: "100",
        EMAIL_REMINDER_SCHEDULE: "none",
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await crashCatcher.waitFor((m) => m.envelope.to.includes(address), 30_000);
      let recorder: number | undefined;
      for (let i = 0; i < 200 && recorder === undefined; i++) {
        const [waiting] = await sql`select pid from pg_stat_activity
        where wait_event_type = 'Lock' and query like '%record_email_sent%' and pid <> pg_backend_pid()`;
        recorder = waiting?.pid;
        if (recorder === undefined) await sleep(50);
      }
      assert.ok(recorder, "the worker is recording the accepted message");
      worker.kill("SIGKILL");
      await worker.status;
      // Its record statement is already at the server, queued behind our lock: a real crash would
      // not have sent it at all, so it must not run once the lock goes.
      await sql`select pg_terminate_backend(${recorder}::int)`;
    } finally {
      try {
        worker.kill("SIGKILL");
      } catch { /* already gone */ }
      if (locked) await blocker`rollback`;
      blocker.release();
    }

    const [abandoned] = await sql`select status::text, attempts from email_outbox where id = ${outboxId}`;
    assert.deepEqual({ ...abandoned }, { status: "sending", attempts: 1 }, "the send was never recorded");

    const dispatcher = env.dispatcher({
      smtpUrl: crashCatcher.smtpUrl,
      leaseSeconds: 3,
      sendTimeoutMs: 1000,
    });
    try {
      await dispatcher.dispatch();
      assert.equal(
        messagesTo(crashCatcher.messages(), address).length,
        1,
        "not taken over while the lease runs",
      );
      for (let i = 0; i < 50 && messagesTo(crashCatcher.messages(), address).length < 2; i++) {
        await sleep(200);
        await dispatcher.dispatch();
      }
    } finally {
      dispatcher.close();
    }
    const received = messagesTo(crashCatcher.messages(), address);
    assert.equal(received.length, 2, "sent again once the dead dispatcher's lease expired");
    assert.equal(received[0].parsed.messageId, `<${outboxId}@jobs.example>`);
    assert.equal(received[1].parsed.messageId, received[0].parsed.messageId, "the duplicate is recognisable");
    assert.equal(received[1].parsed.text, received[0].parsed.text, "and says the same, link included");
    const [done] = await sql`select status::text, attempts from email_outbox where id = ${outboxId}`;
    assert.deepEqual({ ...done }, { status: "sent", attempts: 2 });
  },
);

Deno.test(
  "a dispatcher running short of lease hands messages back instead of sending them late: no duplicates with a slow server",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const domain = `${fixture.merchantId.slice(0, 8)}.slow.example`;
    const addresses = Array.from({ length: 10 }, (_, i) => `slow-${i}@${domain}`);
    await using slowCatcher = await startMailCatcher({
      onMessage: (message) => message.envelope.to[0].endsWith(`@${domain}`) ? sleep(400) : undefined,
    });
    await invite(fixture.merchantId, fixture.interviewId, addresses);

    // A 3 s lease and a 1 s send timeout leave 1 s to start sends: 10 messages at 400 ms each do not fit.
    const settings = {
      smtpUrl: slowCatcher.smtpUrl,
      leaseSeconds: 3,
      sendTimeoutMs: 1000,
      batchSize: 10,
      concurrency: 1,
    };
    const first = env.dispatcher(settings);
    const second = env.dispatcher(settings);
    let firstSummary;
    try {
      const firstRun = first.dispatch();
      await sleep(100);
      // Meanwhile another dispatcher keeps claiming whatever is due or abandoned.
      const started = performance.now();
      while (performance.now() - started < 8000) {
        await second.dispatch();
        const [{ left }] = await sql`select count(*)::int as left from email_outbox
        where merchant_id = ${fixture.merchantId} and status <> 'sent'`;
        if (left === 0) break;
        await sleep(100);
      }
      firstSummary = await firstRun;
    } finally {
      first.close();
      second.close();
    }
    const ours = slowCatcher.messages().filter((m) => m.envelope.to[0].endsWith(`@${domain}`));
    assert.deepEqual(ours.map((m) => m.envelope.to[0]).sort(), addresses.slice().sort(), "each exactly once");
    const [{ count }] = await sql`select count(*)::int from email_outbox
    where merchant_id = ${fixture.merchantId} and status = 'sent' and attempts = 1`;
    assert.equal(count, 10, "handing back does not count as an attempt");
    assert.ok(
      firstSummary!.released > 0,
      `the first dispatcher handed some back: ${JSON.stringify(firstSummary)}`,
    );
  },
);
