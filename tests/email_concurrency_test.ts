/**
 * Exactly-once while dispatchers stay alive, with several running at once
 * and through a database hiccup; at-least-once, recognisably, when one dies
 * between the SMTP server's acceptance and recording it.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { startMailCatcher } from "../scripts/mail_catcher.ts";
import {
  dispatcherFor,
  invite,
  lockWaiter,
  messagesTo,
  startRowHoldingCatcher,
  uniqueEmail,
} from "./_support/email.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { fileEmailEnv } from "./_support/suite.ts";

const env = await fileEmailEnv({ reminderScheduleSeconds: [] });
const { sql, server, catcher } = env;

Deno.test(
  "five dispatchers at once over 500 queued messages: each message delivered exactly once",
  async () => {
    const fixture = await createMerchant(sql);
    const domain = `${fixture.merchantId.slice(0, 8)}.bulk.example`;
    const addresses = Array.from({ length: 500 }, (_, i) => `candidate-${i}@${domain}`);
    await invite(server, fixture, addresses);

    // Each dispatcher has its own database pool and SMTP connections, as separate processes would.
    const pools = Array.from(
      { length: 5 },
      () =>
        postgres(server.runtime.config.databaseUrl, {
          max: 3,
          prepare: server.runtime.config.dbPrepare,
          onnotice: () => {},
        }),
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
  async () => {
    const fixture = await createMerchant(sql);
    const address = `crash-${fixture.merchantId.slice(0, 8)}@candidates.example`;
    await invite(server, fixture, [address]);
    const [{ id: outboxId }] =
      await sql`select id from email_outbox where merchant_id = ${fixture.merchantId}`;

    // The first copy is accepted only once the test holds the row's lock, so the
    // dispatcher's record of it has to wait: it is provably between the two.
    await using crashCatcher = await startRowHoldingCatcher(sql, address, outboxId);
    const worker = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../scripts/email_worker.ts", import.meta.url).pathname],
      env: {
        DATABASE_URL: server.runtime.config.databaseUrl,
        SMTP_URL: crashCatcher.smtpUrl,
        EMAIL_FROM_ADDRESS: "no-reply@jobs.example",
        EMAIL_FROM_NAME: "Deployment Default",
        EMAIL_LEASE_SECONDS: "600",
        EMAIL_SEND_TIMEOUT_MS: "1000",
        EMAIL_POLL_INTERVAL_MS: "100",
        EMAIL_REMINDER_SCHEDULE: "none",
      },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await crashCatcher.waitFor((m) => m.envelope.to.includes(address), 30_000);
      const recorder = await lockWaiter(sql, "record_email_sent");
      worker.kill("SIGKILL");
      await worker.status;
      // Its record statement is already at the server, queued behind our lock: a real crash would
      // not have sent it at all, so it must not run once the lock goes.
      await sql`select pg_terminate_backend(${recorder}::int)`;
    } finally {
      try {
        worker.kill("SIGKILL");
      } catch { /* already gone */ }
      await crashCatcher.release();
    }

    const abandoned = () =>
      sql`select status::text, attempts, lease_expires_at > now() as leased from email_outbox where id = ${outboxId}`;
    const [before] = await abandoned();
    assert.deepEqual(
      { ...before },
      { status: "sending", attempts: 1, leased: true },
      "the send was never recorded",
    );

    const dispatcher = env.dispatcher({ smtpUrl: crashCatcher.smtpUrl });
    try {
      await dispatcher.dispatch();
      const [after] = await abandoned();
      assert.deepEqual({ ...after }, { ...before }, "not taken over while the lease runs");
      assert.equal(messagesTo(crashCatcher.messages(), address).length, 1);

      // The dead dispatcher's lease runs out (the test's way of letting its ten minutes pass).
      await sql`update email_outbox set lease_expires_at = now() where id = ${outboxId}`;
      await dispatcher.dispatch();
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
  "a dispatcher whose lease cannot cover a send hands its messages back unsent; another sends each once",
  async () => {
    const fixture = await createMerchant(sql);
    const domain = `${fixture.merchantId.slice(0, 8)}.short-lease.example`;
    const addresses = Array.from({ length: 10 }, (_, i) => `short-${i}@${domain}`);
    await invite(server, fixture, addresses);
    const ours = () => catcher.messages().filter((m) => m.envelope.to[0].endsWith(`@${domain}`));

    // A 1 s lease with a 1 s send timeout: a send could outlast the lease, so none may start.
    const short = env.dispatcher({ leaseSeconds: 1, sendTimeoutMs: 1000 });
    try {
      const summary = await short.dispatch();
      assert.ok(summary.claimed >= 10 && summary.released === summary.claimed, JSON.stringify(summary));
      assert.equal(summary.sent, 0);
    } finally {
      short.close();
    }
    assert.equal(ours().length, 0, "nothing was sent");
    const handedBack = await sql`select status::text, attempts, count(*)::int from email_outbox
      where merchant_id = ${fixture.merchantId} group by 1, 2`;
    assert.deepEqual(
      handedBack.map((r) => ({ ...r })),
      [{ status: "pending", attempts: 0, count: 10 }],
      "handed back due at once, the attempt not counted",
    );

    await env.dispatchOnce();
    assert.deepEqual(
      ours().map((m) => m.envelope.to[0]).sort(),
      addresses.slice().sort(),
      "each exactly once",
    );
    const [{ count }] = await sql`select count(*)::int from email_outbox
      where merchant_id = ${fixture.merchantId} and status = 'sent' and attempts = 1`;
    assert.equal(count, 10);
  },
);

Deno.test(
  "a dispatcher stopped mid-batch lets the send in flight finish and hands the rest back",
  async () => {
    const fixture = await createMerchant(sql);
    const domain = `${fixture.merchantId.slice(0, 8)}.stopped.example`;
    const addresses = Array.from({ length: 10 }, (_, i) => `stopped-${i}@${domain}`);
    await invite(server, fixture, addresses);

    // The server holds the first message until the dispatcher has been told to stop.
    let firstArrived!: () => void;
    const arrived = new Promise<void>((resolve) => firstArrived = resolve);
    let release!: () => void;
    const released = new Promise<void>((resolve) => release = resolve);
    await using held = await startMailCatcher({
      onMessage: (message) => {
        if (!message.envelope.to[0].endsWith(`@${domain}`)) return;
        firstArrived();
        return released;
      },
    });
    const stop = new AbortController();
    const dispatcher = env.dispatcher({ smtpUrl: held.smtpUrl, batchSize: 10, concurrency: 1 });
    let summary;
    try {
      const dispatching = dispatcher.dispatch({ signal: stop.signal });
      await arrived;
      stop.abort();
      release();
      summary = await dispatching;
    } finally {
      release();
      dispatcher.close();
    }
    const ours = held.messages().filter((m) => m.envelope.to[0].endsWith(`@${domain}`));
    assert.equal(ours.length, 1, "only the message in flight was sent");
    // Other tests' due messages may share the claim; ours are counted in the outbox below.
    assert.ok(summary.sent >= 1 && summary.released >= 9, JSON.stringify(summary));
    const rows = await sql`select status::text, attempts, count(*)::int from email_outbox
      where merchant_id = ${fixture.merchantId} group by 1, 2 order by 1`;
    assert.deepEqual(rows.map((r) => ({ ...r })), [
      { status: "pending", attempts: 0, count: 9 },
      { status: "sent", attempts: 1, count: 1 },
    ], "handed back due at once, the attempt not counted");

    const next = env.dispatcher({ smtpUrl: held.smtpUrl });
    try {
      await next.dispatch();
    } finally {
      next.close();
    }
    const delivered = held.messages().filter((m) => m.envelope.to[0].endsWith(`@${domain}`));
    assert.deepEqual(
      delivered.map((m) => m.envelope.to[0]).sort(),
      addresses.slice().sort(),
      "each exactly once",
    );
  },
);

Deno.test(
  "the database dropping the record of a sent message for a while: recorded once it is back, not sent again",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("hiccup");
    const [row] = await invite(server, fixture, [address]);
    const [{ id: outboxId }] =
      await sql`select id from email_outbox where profile_interview_id = ${row.profile_interview_id}`;

    // The message is accepted only once the test holds its row, so the record has to wait, and the test
    // drops the recording session each time it does (a database restarting, a failover): four times, about
    // two seconds, while the dispatcher stays alive.
    await using hiccupCatcher = await startRowHoldingCatcher(sql, address, outboxId);
    const dispatcher = env.dispatcher({ smtpUrl: hiccupCatcher.smtpUrl });
    try {
      const dispatching = dispatcher.dispatch();
      for (let drop = 1; drop <= 4; drop++) {
        const recorder = await lockWaiter(sql, "record_email_sent");
        await sql`select pg_terminate_backend(${recorder}::int, 5000)`;
      }
      await hiccupCatcher.release();
      const summary = await dispatching;
      assert.ok(summary.sent >= 1, JSON.stringify(summary));
    } finally {
      dispatcher.close();
    }
    const [recorded] = await sql`select status::text, attempts from email_outbox where id = ${outboxId}`;
    assert.deepEqual({ ...recorded }, { status: "sent", attempts: 1 }, "recorded: no lease left to expire");
    assert.equal(messagesTo(hiccupCatcher.messages(), address).length, 1);
  },
);

Deno.test(
  "a dispatcher told to stop while the database drops its records stops at once, as if it had died there",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("stopping");
    const [row] = await invite(server, fixture, [address]);
    const [{ id: outboxId }] =
      await sql`select id from email_outbox where profile_interview_id = ${row.profile_interview_id}`;
    await using stopCatcher = await startRowHoldingCatcher(sql, address, outboxId);
    const dispatcher = env.dispatcher({ smtpUrl: stopCatcher.smtpUrl });
    const stop = new AbortController();
    try {
      const dispatching = dispatcher.dispatch({ signal: stop.signal });
      await sql`select pg_terminate_backend(${await lockWaiter(sql, "record_email_sent")}::int, 5000)`;
      stop.abort();
      // Its retry, if it made one before seeing the stop (behind a pooler the first error reaches it later, so
      // it may see the stop first and make none).
      const retry = lockWaiter(sql, "record_email_sent");
      retry.catch(() => {});
      const retrying = await Promise.race([retry, dispatching.then(() => null)]);
      if (retrying !== null) await sql`select pg_terminate_backend(${retrying}::int, 5000)`;
      // Without giving up on a stop, it would go on retrying for the rest of the five-minute lease.
      const outcome = await Promise.race([
        dispatching.then(() => "stopped"),
        new Promise((resolve) => setTimeout(() => resolve("still retrying"), 5000)),
      ]);
      assert.equal(outcome, "stopped");
    } finally {
      await stopCatcher.release();
      dispatcher.close();
    }
    const [left] = await sql`select status::text from email_outbox where id = ${outboxId}`;
    assert.equal(left.status, "sending", "unrecorded: taken over when its lease expires, as after a crash");
    assert.equal(messagesTo(stopCatcher.messages(), address).length, 1);
  },
);

Deno.test(
  "a database error mid-slot: the slot's other send finishes and is recorded, the rest of the claim is handed back",
  async () => {
    const fixture = await createMerchant(sql);
    const [refused, held, ...others] = ["refused", "held", "other-1", "other-2", "other-3"].map(uniqueEmail);
    const rows = await invite(server, fixture, [refused, held, ...others]);
    const outboxIds = new Map<string, string>();
    for (const { email, profile_interview_id } of rows) {
      const [{ id }] =
        await sql`select id from email_outbox where profile_interview_id = ${profile_interview_id}`;
      outboxIds.set(email, id);
    }
    // Due first, so the two share the claim's first slot.
    await sql`update email_outbox set send_after = now() - interval '1 hour'
      where id in ${sql([outboxIds.get(refused)!, outboxIds.get(held)!])}`;

    // One message is refused and the test holds its row, so recording the failure waits (and is then
    // dropped); the other is held by the server until the test lets it through.
    const blocker = await sql.reserve();
    let locked = false;
    let heldArrived!: () => void;
    const arrived = new Promise<void>((resolve) => heldArrived = resolve);
    let letThrough!: () => void;
    const through = new Promise<void>((resolve) => letThrough = resolve);
    await using slotCatcher = await startMailCatcher({
      onMessage: async (message) => {
        if (message.envelope.to.includes(held)) {
          heldArrived();
          await through;
        } else if (message.envelope.to.includes(refused)) {
          await blocker`begin`;
          await blocker`select 1 from email_outbox where id = ${outboxIds.get(refused)!} for update`;
          locked = true;
          return { code: 451, message: "4.3.0 Try again later" };
        }
      },
    });
    const dispatcher = env.dispatcher({ smtpUrl: slotCatcher.smtpUrl, concurrency: 2, batchSize: 10 });
    try {
      // Settled into a value at once: however early it fails, the assertions below report it.
      const dispatching = dispatcher.dispatch().then(() => null, (err: Error) => err);
      await arrived;
      const recorder = await lockWaiter(sql, "record_email_failure");
      await sql`select pg_terminate_backend(${recorder}::int, 5000)`;
      await blocker`rollback`;
      locked = false;
      letThrough();
      assert.match(String(await dispatching), /CONNECTION_CLOSED|terminating connection/);
    } finally {
      letThrough();
      if (locked) await blocker`rollback`;
      blocker.release();
      dispatcher.close();
    }
    const state = async (email: string) => {
      const [row] = await sql`select status::text, attempts from email_outbox
        where id = ${outboxIds.get(email)!}`;
      return { ...row };
    };
    assert.deepEqual(await state(held), { status: "sent", attempts: 1 }, "finished and recorded first");
    assert.equal(messagesTo(slotCatcher.messages(), held).length, 1);
    for (const other of others) {
      assert.deepEqual(await state(other), { status: "pending", attempts: 0 }, "handed back, due at once");
    }
    // Its outcome was never recorded: it is tried again when its lease expires (it was not delivered).
    assert.equal((await state(refused)).status, "sending");
  },
);

Deno.test(
  "recording a sent invitation while its link is being redeemed: both go through, one after the other",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("lock-order");
    // Invited, the invitation sent (its reminder pending), then invited again: the second invitation
    // is the one being recorded, and recording it supersedes that pending reminder.
    await invite(server, fixture, [address]);
    const dispatcher = env.dispatcher({ reminderScheduleSeconds: [3600] });
    try {
      await dispatcher.dispatch();
    } finally {
      dispatcher.close();
    }
    const [second] = await invite(server, fixture, [address]);
    const claimId = crypto.randomUUID();
    const [{ id: invitationId }] = await sql`update email_outbox
      set status = 'sending', claim_id = ${claimId}, lease_expires_at = now() + interval '5 minutes', attempts = 1
      where profile_interview_id = ${second.profile_interview_id} and status = 'pending' and kind = 'invitation'
      returning id`;

    // The test holds the merchant's row, which the record's new reminder rows must reference (a
    // foreign-key check): the record stops there, midway, holding what it has locked so far.
    const blocker = await sql.reserve();
    const recorder = await sql.reserve();
    try {
      await blocker`begin`;
      await blocker`select 1 from merchants where id = ${fixture.merchantId} for update`;
      const recording = recorder<{ recorded: boolean }[]>`
        select app.record_email_sent(${invitationId}::uuid, ${claimId}::uuid, ${[3600]}::int[]) as recorded`
        .execute();
      await lockWaiter(sql, "record_email_sent");
      const redeeming = callFunction(server.functionsUrl, "interview-token-redeem", {
        body: { interview_token: tokenOf(second.interview_url) },
      });
      await lockWaiter(sql, "redeem_interview_token");
      await blocker`rollback`;

      const [redeemed, [{ recorded }]] = await Promise.all([redeeming, recording]);
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
      assert.equal(recorded, true);
    } finally {
      blocker.release();
      recorder.release();
    }
    const rows = await sql`select kind::text, status::text from email_outbox
      where profile_interview_id = ${second.profile_interview_id} order by created_at, kind`;
    assert.deepEqual(rows.map((r) => [r.kind, r.status]), [
      ["invitation", "sent"],
      ["reminder", "cancelled"],
      ["invitation", "sent"],
      ["reminder", "cancelled"],
    ], "and no reminder is left to follow the redemption");
  },
);
