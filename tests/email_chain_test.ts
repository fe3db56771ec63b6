/**
 * The chain after the invitation: reminders on their schedule, cancelled by
 * the link's redemption, and the completion notification.
 */
import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { userToken } from "./_support/credentials.ts";
import {
  invite,
  type InvitedRow,
  linkInText,
  makeDue,
  messagesTo,
  startGatedCatcher,
  uniqueEmail,
  waitFor,
} from "./_support/email.ts";
import { interviewTokenKey, verifyInterviewToken } from "../supabase/functions/_shared/interviews/token.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { fileEmailEnv } from "./_support/suite.ts";

// The deployed default schedule: one reminder 48 hours after the invitation.
const env = await fileEmailEnv({ reminderScheduleSeconds: [48 * 3600] });
const { sql, server, catcher } = env;

function redeem(interviewUrl: string) {
  return callFunction(server.functionsUrl, "interview-token-redeem", {
    body: { interview_token: tokenOf(interviewUrl) },
  });
}

function complete(profileInterviewId: unknown, token: string | null = LOCAL_SECRET_KEY) {
  return callFunction(server.functionsUrl, "interview-complete", {
    token: token ?? undefined,
    body: { profile_interview_id: profileInterviewId },
  });
}

function outbox(profileInterviewId: string) {
  return sql<
    { id: string; kind: string; status: string; send_after: Date; sent_at: Date | null; last_error: string }[]
  >`
    select id, kind::text, status::text, send_after, sent_at, last_error from email_outbox
    where profile_interview_id = ${profileInterviewId} order by created_at, kind`;
}

/** One message at a time, with a lease and send timeout a message held by a gated catcher cannot run out of. */
const ONE_AT_A_TIME = { concurrency: 1, batchSize: 10, leaseSeconds: 300, sendTimeoutMs: 60_000 };

Deno.test(
  "the default schedule: one reminder, due 48 hours after the invitation went out, sent once when due",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("remind");
    const [row] = await invite(server, fixture, [address]);
    const dispatcher = env.dispatcher();
    try {
      await dispatcher.dispatch();
      const [invitation, reminder] = await outbox(row.profile_interview_id);
      assert.equal(invitation.kind, "invitation");
      assert.equal(invitation.status, "sent");
      assert.equal(reminder.kind, "reminder");
      assert.equal(reminder.status, "pending");
      assert.equal(reminder.send_after.getTime() - invitation.sent_at!.getTime(), 48 * 3600 * 1000);

      await dispatcher.dispatch();
      assert.equal(messagesTo(catcher.messages(), address).length, 1, "not before it is due");

      await makeDue(sql, reminder.id);
      await dispatcher.dispatch();
      await dispatcher.dispatch();
      const received = messagesTo(catcher.messages(), address);
      assert.equal(received.length, 2, "the reminder, once");
      const sent = received[1];
      assert.match(sent.parsed.subject!, /^Reminder: your interview with Fixture .* is waiting$/);
      assert.equal(linkInText(sent), row.interview_url, "the same working link");
      assert.equal(sent.parsed.messageId, `<${reminder.id}@jobs.example>`);
      assert.notEqual(sent.parsed.messageId, received[0].parsed.messageId);
      assert.equal((await outbox(row.profile_interview_id))[1].status, "sent");
    } finally {
      dispatcher.close();
    }
  },
);

Deno.test(
  "a configured schedule: reminders go out when due, in real time, and not before",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("schedule");
    const [row] = await invite(server, fixture, [address]);
    const dispatcher = env.dispatcher({ reminderScheduleSeconds: [1, 2] });
    try {
      await dispatcher.dispatch();
      assert.equal(messagesTo(catcher.messages(), address).length, 1);
      // Time passes for real: the dispatcher runs until both reminders have fallen due and gone out.
      await waitFor("both reminders", async () => {
        await dispatcher.dispatch();
        return messagesTo(catcher.messages(), address).length >= 3;
      });
      const received = messagesTo(catcher.messages(), address);
      assert.equal(received.length, 3, "the invitation and each reminder once");
      assert.deepEqual(received.map((m) => m.parsed.subject!.split(":")[0]), [
        `Fixture ${fixture.merchantId.slice(0, 8)} invites you to an interview`,
        "Reminder",
        "Reminder",
      ]);
      const [invitation, ...reminders] = await outbox(row.profile_interview_id);
      reminders.sort((a, b) => a.send_after.getTime() - b.send_after.getTime());
      assert.deepEqual(
        reminders.map((r) => (r.send_after.getTime() - invitation.sent_at!.getTime()) / 1000),
        [1, 2],
        "due 1 s and 2 s after the invitation went out",
      );
      for (const reminder of reminders) {
        assert.equal(reminder.status, "sent");
        assert.ok(reminder.sent_at! >= reminder.send_after, "not sent before it was due");
      }
    } finally {
      dispatcher.close();
    }
  },
);

Deno.test("reminders are never sent once the link was redeemed", async (t) => {
  const fixture = await createMerchant(sql);
  const dispatcher = env.dispatcher();
  try {
    await t.step("redeemed after the invitation: its pending reminder is cancelled", async () => {
      const address = uniqueEmail("redeemed");
      const [row] = await invite(server, fixture, [address]);
      await dispatcher.dispatch();
      assert.equal((await redeem(row.interview_url)).status, 200);
      const [, reminder] = await outbox(row.profile_interview_id);
      assert.equal(reminder.status, "cancelled");
      await makeDue(sql, reminder.id);
      await dispatcher.dispatch();
      assert.equal(messagesTo(catcher.messages(), address).length, 1, "only the invitation");
    });

    await t.step(
      "a reminder still pending when the link is spent is cancelled by the dispatcher, not sent",
      async () => {
        const address = uniqueEmail("guard");
        const [row] = await invite(server, fixture, [address]);
        await dispatcher.dispatch();
        const [, reminder] = await outbox(row.profile_interview_id);
        // Spent behind the API's back, so only the dispatcher's own check stands between it and a send.
        await sql`update interview_tokens set redeemed_at = now()
        where profile_interview_id = ${row.profile_interview_id} and redeemed_at is null and revoked_at is null`;
        await makeDue(sql, reminder.id);
        const summary = await dispatcher.dispatch();
        assert.ok(summary.cancelled >= 1);
        const [, after] = await outbox(row.profile_interview_id);
        assert.equal(after.status, "cancelled");
        assert.match(after.last_error, /already used, revoked or has expired/);
        assert.equal(messagesTo(catcher.messages(), address).length, 1);
      },
    );

    await t.step(
      "invited again after the interview was started: the new invitation, no reminder after it",
      async () => {
        const address = uniqueEmail("restarted");
        const [row] = await invite(server, fixture, [address]);
        await dispatcher.dispatch();
        assert.equal((await redeem(row.interview_url)).status, 200);
        const [again] = await invite(server, fixture, [address]);
        assert.equal(
          again.profile_interview_id,
          row.profile_interview_id,
          "the started registration, reused",
        );
        await dispatcher.dispatch();
        const received = messagesTo(catcher.messages(), address);
        assert.equal(received.length, 2);
        assert.equal(linkInText(received[1]), again.interview_url);
        assert.deepEqual((await outbox(row.profile_interview_id)).map((o) => [o.kind, o.status]), [
          ["invitation", "sent"],
          ["reminder", "cancelled"],
          ["invitation", "sent"],
        ]);
      },
    );

    await t.step("redeemed before the invitation went out: no invitation and no reminders", async () => {
      const address = uniqueEmail("early");
      const [row] = await invite(server, fixture, [address]);
      assert.equal((await redeem(row.interview_url)).status, 200);
      await dispatcher.dispatch();
      assert.equal(messagesTo(catcher.messages(), address).length, 0);
      assert.deepEqual((await outbox(row.profile_interview_id)).map((o) => [o.kind, o.status]), [
        ["invitation", "cancelled"],
      ]);
    });
  } finally {
    dispatcher.close();
  }
});

Deno.test(
  "claimed messages are checked again just before they are sent: a link redeemed or replaced after the claim",
  async () => {
    const fixture = await createMerchant(sql);
    const [gate, redeemed, replaced, reminded] = ["gate", "redeemed", "replaced", "reminded"].map(
      uniqueEmail,
    );
    // A candidate whose invitation went out and whose reminder is due.
    const [remindedRow] = await invite(server, fixture, [reminded]);
    await env.dispatchOnce();
    const [, reminder] = await outbox(remindedRow.profile_interview_id);
    await makeDue(sql, reminder.id);
    const [gateRow, redeemedRow, replacedRow] = await invite(server, fixture, [gate, redeemed, replaced]);
    // Due first, so it is the first one sent from the claim.
    await sql`update email_outbox set send_after = now() - interval '1 hour'
      where profile_interview_id = ${gateRow.profile_interview_id}`;

    // The server holds the first message until the test has changed the others' registrations: they
    // are claimed by then, and waiting in the same batch.
    await using gated = await startGatedCatcher(gate);
    const dispatcher = env.dispatcher({ smtpUrl: gated.smtpUrl, ...ONE_AT_A_TIME });
    try {
      const dispatching = dispatcher.dispatch();
      await gated.arrived;
      const [{ claimed }] = await sql`select count(*)::int as claimed from email_outbox
        where merchant_id = ${fixture.merchantId} and status = 'sending'`;
      assert.equal(claimed, 4, "the gate's message and the three others are claimed");
      assert.equal((await redeem(redeemedRow.interview_url)).status, 200);
      assert.equal((await redeem(remindedRow.interview_url)).status, 200);
      const again = await callFunction(server.functionsUrl, "job-interview-register-users", {
        token: LOCAL_SECRET_KEY,
        body: {
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          users: [{ email: replaced }],
        },
      });
      const newLink = again.body[0].interview_url;
      assert.notEqual(newLink, replacedRow.interview_url);
      gated.open();
      const summary = await dispatching;
      assert.ok(summary.cancelled >= 2, JSON.stringify(summary));

      assert.equal(messagesTo(gated.messages(), gate).length, 1);
      assert.equal(messagesTo(gated.messages(), redeemed).length, 0, "no invitation after the link was used");
      assert.equal(messagesTo(gated.messages(), reminded).length, 0, "no reminder after the interview began");
      const [replacement] = messagesTo(gated.messages(), replaced);
      assert.equal(linkInText(replacement), newLink, "the invitation carries the link that is live now");
      assert.equal((await redeem(linkInText(replacement))).status, 200, "and it works");

      const [redeemedInvitation] = await outbox(redeemedRow.profile_interview_id);
      assert.deepEqual([redeemedInvitation.status, redeemedInvitation.last_error], [
        "cancelled",
        "The interview link was already used, revoked or has expired",
      ]);
      const [, cancelledReminder] = await outbox(remindedRow.profile_interview_id);
      assert.deepEqual([cancelledReminder.status, cancelledReminder.last_error], [
        "cancelled",
        "The interview was already started",
      ]);
    } finally {
      gated.open();
      dispatcher.close();
    }
  },
);

Deno.test(
  "an invitation claimed while its candidate is invited again is superseded: one invitation, with the live link",
  async () => {
    const fixture = await createMerchant(sql);
    const [gate, again, thenUrl] = ["gate", "again", "then-url"].map(uniqueEmail);
    const [gateRow] = await invite(server, fixture, [gate]);
    const [againRow, thenUrlRow] = await invite(server, fixture, [again, thenUrl]);
    // Due first, so it is the first one sent from the claim.
    await sql`update email_outbox set send_after = now() - interval '1 hour'
      where profile_interview_id = ${gateRow.profile_interview_id}`;

    // The server holds the first message until both candidates have been invited again: their first
    // invitations are claimed by then, so the new ones cannot cancel them as pending.
    await using gated = await startGatedCatcher(gate);
    const dispatcher = env.dispatcher({ smtpUrl: gated.smtpUrl, ...ONE_AT_A_TIME });
    let liveLinks: string[];
    try {
      const dispatching = dispatcher.dispatch();
      await gated.arrived;
      const [invitedAgain, invitedThenUrl] = await invite(server, fixture, [again, thenUrl]);
      // Then registered once more without an invitation: neither invitation holds the live link now.
      const url = await callFunction(server.functionsUrl, "job-interview-register-users", {
        token: LOCAL_SECRET_KEY,
        body: {
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          users: [{ email: thenUrl }],
        },
      });
      assert.notEqual(url.body[0].interview_url, invitedThenUrl.interview_url);
      liveLinks = [invitedAgain.interview_url, url.body[0].interview_url];
      gated.open();
      await dispatching;
    } finally {
      gated.open();
      dispatcher.close();
    }

    for (
      const [address, row, link] of [[again, againRow, liveLinks[0]], [thenUrl, thenUrlRow, liveLinks[1]]]
    ) {
      const received = messagesTo(gated.messages(), address as string);
      assert.equal(received.length, 1, `one invitation to ${address}`);
      assert.equal(linkInText(received[0]), link, "carrying the link that is live now");
      const rows = await outbox((row as InvitedRow).profile_interview_id);
      assert.deepEqual(rows.filter((o) => o.kind === "invitation").map((o) => [o.status, o.last_error]), [
        ["cancelled", "Superseded by a newer invitation"],
        ["sent", null],
      ]);
    }
  },
);

Deno.test(
  "invited again in a transaction that began before the previous invitation was queued: the newer one still goes out",
  async () => {
    const fixture = await createMerchant(sql);
    const address = uniqueEmail("overlap");
    // Two requests for one candidate overlapping: the later one's transaction began first, so its
    // invitation's created_at (its now()) is the earlier, though its link replaced the other's.
    const second = await sql.begin(async (tx) => {
      await invite(server, fixture, [address]);
      await env.dispatchOnce();
      const [{ result }] = await tx`select app.register_users(
        null, ${fixture.merchantId}::uuid, ${fixture.interviewId}::uuid, false, true, false, false,
        now(), now() + interval '1 day', ${tx.json([{ i: 0, email: address }])}::jsonb
      ) as result`;
      return result.rows[0] as { profile_interview_id: string; jti: string };
    });
    const invitations = await sql`select status::text from email_outbox
      where profile_interview_id = ${second.profile_interview_id} and kind = 'invitation' order by created_at`;
    assert.deepEqual(invitations.map((o) => o.status), ["pending", "sent"], "the newer one queued earlier");
    await env.dispatchOnce();
    const received = messagesTo(catcher.messages(), address);
    assert.equal(received.length, 2);
    const claims = await verifyInterviewToken(
      await interviewTokenKey(server.runtime.config.interviewTokenSecret),
      tokenOf(linkInText(received[1])),
    );
    assert.equal(claims.jti, second.jti, "the live link");
  },
);

Deno.test(
  "an interview that closed: its claimed reminders and invitations are cancelled, later ones go out if it reopens",
  async () => {
    const fixture = await createMerchant(sql);
    const [reminded, invited] = ["closed-reminded", "closed-invited"].map(uniqueEmail);
    const [remindedRow] = await invite(server, fixture, [reminded]);
    const dispatcher = env.dispatcher({ reminderScheduleSeconds: [3600, 7200] });
    const state = async (outboxId: string) => {
      const [row] = await sql`select status::text, last_error from email_outbox where id = ${outboxId}`;
      return [row.status, row.last_error];
    };
    try {
      await dispatcher.dispatch();
      const [first, second] = (await outbox(remindedRow.profile_interview_id))
        .filter((o) => o.kind === "reminder")
        .sort((a, b) => a.send_after.getTime() - b.send_after.getTime());
      const [invitedRow] = await invite(server, fixture, [invited]);
      const [invitation] = await outbox(invitedRow.profile_interview_id);
      await sql`update interviews set interview_available_till = now() - interval '1 minute'
        where id = ${fixture.interviewId}`;
      await makeDue(sql, first.id);
      await dispatcher.dispatch();

      assert.equal(messagesTo(catcher.messages(), reminded).length, 1, "the invitation, no reminder");
      assert.equal(messagesTo(catcher.messages(), invited).length, 0, "no invitation");
      assert.deepEqual(await state(first.id), ["cancelled", "The interview is no longer available"]);
      assert.deepEqual(await state(invitation.id), ["cancelled", "The interview is no longer available"]);
      const refused = await redeem(remindedRow.interview_url);
      assert.deepEqual([refused.status, refused.body.error], [409, "Interview is no longer available"]);

      // Only the message whose turn came is cancelled: the interview reopened, the next reminder goes out.
      assert.deepEqual(await state(second.id), ["pending", null]);
      await sql`update interviews set interview_available_till = null where id = ${fixture.interviewId}`;
      await makeDue(sql, second.id);
      await dispatcher.dispatch();
      assert.equal(messagesTo(catcher.messages(), reminded).length, 2);
      assert.equal((await redeem(remindedRow.interview_url)).status, 200, "and its link works");
    } finally {
      dispatcher.close();
    }
  },
);

Deno.test("a new invitation supersedes the reminders of the previous one", async () => {
  const fixture = await createMerchant(sql);
  const address = uniqueEmail("again");
  const [first] = await invite(server, fixture, [address]);
  const dispatcher = env.dispatcher();
  try {
    await dispatcher.dispatch();
    const [second] = await invite(server, fixture, [address]);
    assert.equal(second.profile_interview_id, first.profile_interview_id);
    await dispatcher.dispatch();
    const rows = await outbox(first.profile_interview_id);
    assert.deepEqual(rows.map((o) => [o.kind, o.status]), [
      ["invitation", "sent"],
      ["reminder", "cancelled"],
      ["invitation", "sent"],
      ["reminder", "pending"],
    ]);
    await makeDue(sql, rows[3].id);
    await dispatcher.dispatch();
    const received = messagesTo(catcher.messages(), address);
    assert.equal(received.length, 3);
    assert.equal(linkInText(received[1]), second.interview_url);
    assert.equal(linkInText(received[2]), second.interview_url, "the reminder carries the newest link");
  } finally {
    dispatcher.close();
  }
});

Deno.test(
  "completion: reported any number of times, at once, it sends its notification once",
  async () => {
    const fixture = await createMerchant(sql);
    await sql`update merchants set email_from_name = 'Acme Talent' where id = ${fixture.merchantId}`;
    const address = uniqueEmail("done");
    const [row] = await invite(server, fixture, [address]);
    const dispatcher = env.dispatcher();
    try {
      await dispatcher.dispatch();
      assert.equal((await redeem(row.interview_url)).status, 200);

      const replies = await Promise.all(Array.from({ length: 8 }, () => complete(row.profile_interview_id)));
      assert.deepEqual(replies.map((r) => r.status), Array(8).fill(200));
      assert.equal(replies.filter((r) => r.body.notification_queued).length, 1);
      assert.equal(replies.filter((r) => !r.body.already_completed).length, 1);
      assert.ok(
        replies.every((r) =>
          r.body.status === "completed" && r.body.completed_at === replies[0].body.completed_at
        ),
      );

      await dispatcher.dispatch();
      await dispatcher.dispatch();
      const again = await complete(row.profile_interview_id);
      assert.equal(again.body.already_completed, true);
      await dispatcher.dispatch();

      const received = messagesTo(catcher.messages(), address);
      assert.equal(received.length, 2, "invitation and one completion notification");
      const [, notification] = received;
      assert.equal(
        notification.parsed.subject,
        `Thank you for completing your interview with Fixture ${fixture.merchantId.slice(0, 8)}`,
      );
      assert.deepEqual(notification.parsed.from, { address: "no-reply@jobs.example", name: "Acme Talent" });
      const [registration] =
        await sql`select status::text, completed_at from profile_interviews where id = ${row.profile_interview_id}`;
      assert.equal(registration.status, "completed");
      assert.deepEqual((await outbox(row.profile_interview_id)).map((o) => [o.kind, o.status]), [
        ["invitation", "sent"],
        ["reminder", "cancelled"],
        ["completion", "sent"],
      ]);
    } finally {
      dispatcher.close();
    }
  },
);

Deno.test("completion of a registration that was never invited by email sends nothing", async () => {
  const fixture = await createMerchant(sql);
  const address = uniqueEmail("url-done");
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: { merchant_id: fixture.merchantId, interview_id: fixture.interviewId, users: [{ email: address }] },
  });
  const [row] = reply.body;
  assert.equal((await redeem(row.interview_url)).status, 200);
  const done = await complete(row.profile_interview_id);
  assert.equal(done.status, 200);
  assert.equal(done.body.notification_queued, false);
  const [{ count }] =
    await sql`select count(*)::int from email_outbox where merchant_id = ${fixture.merchantId}`;
  assert.equal(count, 0);
});

Deno.test("interview-complete: only the service key, a known and started registration", async () => {
  const fixture = await createMerchant(sql);
  const [row] = await invite(server, fixture, [uniqueEmail("errors")]);

  assert.equal((await complete(row.profile_interview_id, null)).status, 401);
  const staff = await complete(row.profile_interview_id, await userToken(fixture.ownerId));
  assert.equal(staff.status, 403);
  assert.deepEqual(staff.body, { error: "Role not permitted" });

  const notStarted = await complete(row.profile_interview_id);
  assert.equal(notStarted.status, 409);
  assert.match(notStarted.body.error, /not started/);

  const unknown = await complete(crypto.randomUUID());
  assert.deepEqual([unknown.status, unknown.body], [404, {
    error: "Registration not found",
    name: "profile_interview_id",
  }]);
  const invalid = await complete("not-a-uuid");
  assert.deepEqual([invalid.status, invalid.body.name], [422, "profile_interview_id"]);
  const missing = await complete(undefined);
  assert.deepEqual([missing.status, missing.body], [422, {
    error: "Field is required.",
    name: "profile_interview_id",
  }]);

  const [{ status }] =
    await sql`select status::text from profile_interviews where id = ${row.profile_interview_id}`;
  assert.equal(status, "registered", "refused reports change nothing");
});
