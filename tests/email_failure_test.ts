/**
 * The SMTP server unreachable, refusing or too slow: nothing is lost, attempts
 * back off exponentially, a message is delivered once when the server comes
 * back, and after the last attempt it is failed with the reason until an
 * operator retries it.
 */
import assert from "node:assert/strict";
import { freePort } from "../scripts/local_db.ts";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import type { Dispatcher } from "../supabase/functions/_shared/email/dispatcher.ts";
import { invite, makeDue, messagesTo, uniqueEmail, waitFor } from "./_support/email.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { fileEmailEnv } from "./_support/suite.ts";

const env = await fileEmailEnv({ reminderScheduleSeconds: [] });
const { sql, server } = env;

async function inviteOne(label: string): Promise<{ address: string; outboxId: string }> {
  const fixture = await createMerchant(sql);
  const address = uniqueEmail(label);
  const [row] = await invite(server, fixture, [address]);
  const [{ id }] =
    await sql`select id from email_outbox where profile_interview_id = ${row.profile_interview_id}`;
  return { address, outboxId: id };
}

async function state(outboxId: string) {
  const [row] = await sql<{ status: string; attempts: number; last_error: string | null; due_at: number }[]>`
    select status::text, attempts, last_error, extract(epoch from send_after)::float8 as due_at
    from email_outbox where id = ${outboxId}`;
  return row;
}

/** The database's clock, in seconds: what send_after is computed from. */
async function databaseClock(): Promise<number> {
  const [{ now }] = await sql<{ now: number }[]>`select extract(epoch from clock_timestamp())::float8 as now`;
  return now;
}

Deno.test(
  "SMTP server unreachable: nothing lost, retried with exponential backoff, delivered once when it comes back",
  async () => {
    const { address, outboxId } = await inviteOne("unreachable");
    const port = freePort();
    const dispatcher = env.dispatcher({
      smtpUrl: `smtp://127.0.0.1:${port}`,
      retryBaseSeconds: 2,
      retryMaxSeconds: 6,
      maxAttempts: 10,
    });
    try {
      // Full delays 2, 4, 6 (capped), 6 s: each retry waits between half and all of it.
      for (const [attempt, full] of [[1, 2], [2, 4], [3, 6], [4, 6]]) {
        const before = await databaseClock();
        const summary = await dispatcher.dispatch();
        const after = await databaseClock();
        assert.ok(summary.retried >= 1, JSON.stringify(summary));
        const row = await state(outboxId);
        assert.equal(row.status, "pending", "still queued");
        assert.equal(row.attempts, attempt);
        assert.match(row.last_error!, /ECONNREFUSED|ECONNECTION|connect/i);
        // The failure was recorded between `before` and `after`, its retry due half to all of `full` later.
        assert.ok(
          row.due_at - before >= full / 2 && row.due_at - after <= full,
          `attempt ${attempt}: due ${row.due_at - before} s after the dispatch began, ${
            row.due_at - after
          } s after it ended`,
        );

        await dispatcher.dispatch();
        assert.equal((await state(outboxId)).attempts, attempt, "not attempted again before it is due");
        await makeDue(sql, outboxId);
      }

      await using catcher = await startMailCatcher({ smtpPort: port });
      await dispatcher.dispatch();
      await makeDue(sql, outboxId);
      await dispatcher.dispatch();
      const row = await state(outboxId);
      assert.deepEqual([row.status, row.attempts, row.last_error], ["sent", 5, null]);
      assert.equal(messagesTo(catcher.messages(), address).length, 1, "delivered once");
    } finally {
      dispatcher.close();
    }
  },
);

Deno.test(
  "SMTP server refusing: failed after the last attempt with the reason, then retried by an operator",
  async () => {
    const { address, outboxId } = await inviteOne("refused");
    let refusing = true;
    let refusals = 0;
    await using catcher = await startMailCatcher({
      onMessage: (message) => {
        if (!refusing || !message.envelope.to.includes(address)) return;
        refusals++;
        return { code: 451, message: "4.3.0 Mailbox temporarily unavailable" };
      },
    });
    const dispatcher = env.dispatcher({
      smtpUrl: catcher.smtpUrl,
      retryBaseSeconds: 60,
      retryMaxSeconds: 600,
      maxAttempts: 3,
    });
    try {
      for (const attempt of [1, 2]) {
        const before = await databaseClock();
        await dispatcher.dispatch();
        const row = await state(outboxId);
        assert.deepEqual([row.status, row.attempts], ["pending", attempt]);
        assert.ok(
          row.due_at - before >= 30,
          "backs off (at least half of 60 s) instead of hammering the server",
        );
        await makeDue(sql, outboxId);
      }
      const summary = await dispatcher.dispatch();
      assert.ok(summary.failed >= 1);
      const failed = await state(outboxId);
      assert.deepEqual([failed.status, failed.attempts], ["failed", 3]);
      assert.match(failed.last_error!, /451 4\.3\.0 Mailbox temporarily unavailable/);
      assert.equal(refusals, 3, "the cap counts attempts that reached the server");

      await makeDue(sql, outboxId);
      await dispatcher.dispatch();
      assert.equal((await state(outboxId)).status, "failed", "a failed message stays failed");

      refusing = false;
      const [{ retried }] = await sql`select app.retry_email(${outboxId}::uuid) as retried`;
      assert.equal(retried, true);
      await dispatcher.dispatch();
      const sent = await state(outboxId);
      assert.deepEqual([sent.status, sent.attempts], ["sent", 1]);
      assert.equal(messagesTo(catcher.messages(), address).length, 1);
      const [{ again }] = await sql`select app.retry_email(${outboxId}::uuid) as again`;
      assert.equal(again, false, "only failed messages can be retried");
    } finally {
      dispatcher.close();
    }
  },
);

Deno.test("a recipient the server refuses for good fails at once, without retries", async () => {
  const { address, outboxId } = await inviteOne("nosuchuser");
  await using catcher = await startMailCatcher({
    onRecipient: (to) => to === address ? { code: 550, message: "5.1.1 No such user" } : undefined,
  });
  const dispatcher = env.dispatcher({ smtpUrl: catcher.smtpUrl });
  try {
    await dispatcher.dispatch();
    const row = await state(outboxId);
    assert.deepEqual([row.status, row.attempts], ["failed", 1]);
    assert.match(row.last_error!, /550 5\.1\.1 No such user/);
  } finally {
    dispatcher.close();
  }
});

Deno.test(
  "a server too slow for the send timeout: each timed-out attempt is abandoned, so no copy arrives until one succeeds",
  async () => {
    const { address, outboxId } = await inviteOne("slow");
    // Every reply comes well within the socket timeout, the whole transaction does not within the send
    // timeout: it times out waiting for the reply to RCPT TO, before any of the message was sent.
    let slow = true;
    const reply = () => slow ? new Promise<void>((resolve) => setTimeout(resolve, 700)) : undefined;
    await using catcher = await startMailCatcher({ onSender: reply, onRecipient: reply });
    const settings = {
      smtpUrl: catcher.smtpUrl,
      sendTimeoutMs: 1000,
      retryBaseSeconds: 0,
      retryMaxSeconds: 0,
    };
    // Due before anything else and the only message claimed, so other tests' mail stays out of it.
    const dispatchOurs = async (dispatcher: Dispatcher) => {
      await sql`update email_outbox set send_after = now() - interval '1 hour' where id = ${outboxId}`;
      return await dispatcher.dispatch({ maxMessages: 1 });
    };
    const dispatcher = env.dispatcher({ ...settings, maxAttempts: 3 });
    try {
      for (const attempt of [1, 2, 3]) {
        const summary = await dispatchOurs(dispatcher);
        assert.equal(attempt < 3 ? summary.retried : summary.failed, 1, JSON.stringify(summary));
      }
    } finally {
      dispatcher.close();
    }
    // Closing the pool lets a send still running finish first: once every connection is gone, whatever
    // the server was going to get, it has.
    await waitFor("the server to see every connection closed", () => catcher.connections() === 0);
    assert.equal(messagesTo(catcher.messages(), address).length, 0, "no timed-out attempt delivered");
    const failed = await state(outboxId);
    assert.deepEqual([failed.status, failed.attempts, failed.last_error], [
      "failed",
      3,
      "SMTP send timed out after 1000 ms",
    ]);

    slow = false;
    await sql`select app.retry_email(${outboxId}::uuid)`;
    const fast = env.dispatcher(settings);
    try {
      await dispatchOurs(fast);
    } finally {
      fast.close();
    }
    assert.equal((await state(outboxId)).status, "sent");
    assert.equal(messagesTo(catcher.messages(), address).length, 1, "delivered once");
  },
);
