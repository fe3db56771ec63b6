import assert from "node:assert/strict";
import { decodeJwt, SignJWT } from "jose";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { userToken } from "./_support/credentials.ts";
import { messagesTo, uniqueEmail, waitFor } from "./_support/email.ts";
import { checkEmails } from "../supabase/functions/_shared/email/outbox.ts";
import { invitationTokenKey, mintInvitationToken } from "../supabase/functions/_shared/invitations/token.ts";
import { createMerchant, createStaff, type MerchantFixture } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { fileEmailEnv } from "./_support/suite.ts";

const env = await fileEmailEnv();
const { sql, server } = env;

/** A person's own Supabase access token: a user id of their own and the email they signed in with. */
const personToken = (email: string, sub: string = crypto.randomUUID()) =>
  userToken(sub, { claims: { email } });

const accept = async (token: string, invitationToken: unknown) =>
  await callFunction(server.functionsUrl, "invite-accept", {
    token,
    body: { invitation_token: invitationToken },
  });

/**
 * Invites `email` through the API (as the merchant's owner unless `inviter`
 * is another credential), delivers the queued emails over SMTP and returns
 * the invitation and the token of the newest accept link that reached them.
 */
async function inviteAndDeliver(
  merchant: MerchantFixture,
  email: string,
  type: string,
  extra: Record<string, unknown> = {},
  inviter?: string,
): Promise<{ invitationId: string; acceptToken: string }> {
  const reply = await callFunction(server.functionsUrl, "invite-users", {
    token: inviter ?? await userToken(merchant.ownerId),
    body: { users: [{ email, name: "Ivy Invitee", type }], ...extra },
  });
  assert.equal(reply.body[0].result, "Invited");
  await env.dispatchOnce();
  const mails = messagesTo(env.catcher.messages(), email);
  const link = mails.at(-1)?.parsed.text?.match(
    /http:\/\/localhost:3000\/invitation\/accept\/\?invitation_token=([\w-]+\.[\w-]+\.[\w-]+)/,
  );
  assert.ok(link, `an accept link reached ${email}`);
  return { invitationId: reply.body[0].invitation_id, acceptToken: link[1] };
}

async function invitationState(invitationId: string) {
  const [row] = await sql`
    select accepted_at is not null as accepted, accepted_by, revoked_at is not null as revoked,
      (select count(*)::int from invitation_tokens t where t.invitation_id = i.id and t.redeemed_at is not null) as spent
    from merchant_invitations i where i.id = ${invitationId}`;
  return { ...row };
}

const membersOf = (merchantId: string, accountId: string) =>
  sql`select role from merchant_members where merchant_id = ${merchantId} and account_id = ${accountId}`;

Deno.test(
  "the invited person accepts with their own token: account created, role active, link spent",
  async () => {
    const merchant = await createMerchant(sql);
    const email = uniqueEmail("Accepting.Member");
    const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "merchant");
    const sub = crypto.randomUUID();
    // Supabase lower-cases the addresses it signs people in with; the invitation kept the case it was sent with.
    const reply = await accept(await personToken(email.toLowerCase(), sub), acceptToken);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {
      invitation_id: invitationId,
      merchant_id: merchant.merchantId,
      merchant_name: `Fixture ${merchant.merchantId.slice(0, 8)}`,
      account_id: sub,
      role: "merchant",
      status: "accepted",
    });
    const [account] =
      await sql`select email, full_name, home_merchant_id, is_platform_admin from accounts where id = ${sub}`;
    assert.deepEqual({ ...account }, {
      email: email.toLowerCase(),
      full_name: "Ivy Invitee",
      home_merchant_id: merchant.merchantId,
      is_platform_admin: false,
    });
    assert.deepEqual((await membersOf(merchant.merchantId, sub)).map((m) => m.role), ["merchant"]);
    assert.deepEqual(await invitationState(invitationId), {
      accepted: true,
      accepted_by: sub,
      revoked: false,
      spent: 1,
    });

    // The role is real: as merchant staff they can now invite others themselves.
    const asStaff = await callFunction(server.functionsUrl, "invite-users", {
      token: await personToken(email, sub),
      body: { users: [{ email: uniqueEmail("invited-by-new-staff"), type: "user" }] },
    });
    assert.equal(asStaff.status, 200);
    assert.equal(asStaff.body[0].result, "Invited");
    // And inviting them again now finds the role in place.
    const again = await callFunction(server.functionsUrl, "invite-users", {
      token: await userToken(merchant.ownerId),
      body: { users: [{ email, type: "merchant" }] },
    });
    assert.deepEqual([again.body[0].result, again.body[0].profile_id], ["Skipped", sub]);
  },
);

Deno.test(
  "the wrong person, or no person, cannot accept: nothing changes, the right one still can",
  async () => {
    const merchant = await createMerchant(sql);
    const email = uniqueEmail("right");
    const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "mentor");
    const wrongSub = crypto.randomUUID();

    const wrong = await accept(await personToken(uniqueEmail("wrong"), wrongSub), acceptToken);
    assert.equal(wrong.status, 403);
    assert.deepEqual(wrong.body, { error: "This invitation was sent to a different email address" });

    const noEmail = await accept(await userToken(crypto.randomUUID()), acceptToken);
    assert.equal(noEmail.status, 403);
    assert.deepEqual(noEmail.body, { error: "The access token carries no email address" });

    const service = await accept(LOCAL_SECRET_KEY, acceptToken);
    assert.equal(service.status, 403);
    assert.match(service.body.error, /^Only the invited person can accept an invitation/);

    const anonymous = await accept("", acceptToken);
    assert.equal(anonymous.status, 401);
    const expiredJwt = await accept(
      await userToken(crypto.randomUUID(), { claims: { email }, expiresIn: -10 }),
      acceptToken,
    );
    assert.equal(expiredJwt.status, 401);

    const [{ count }] = await sql`select count(*)::int from accounts where id = ${wrongSub}`;
    assert.equal(count, 0);
    assert.deepEqual(await invitationState(invitationId), {
      accepted: false,
      accepted_by: null,
      revoked: false,
      spent: 0,
    });

    const right = await accept(await personToken(email), acceptToken);
    assert.equal(right.status, 200);
  },
);

Deno.test("accepting twice: the second time is a 410 and changes nothing", async () => {
  const merchant = await createMerchant(sql);
  const email = uniqueEmail("twice");
  const { acceptToken } = await inviteAndDeliver(merchant, email, "user");
  const token = await personToken(email);
  assert.equal((await accept(token, acceptToken)).status, 200);
  const second = await accept(token, acceptToken);
  assert.equal(second.status, 410);
  assert.deepEqual(second.body, { error: "Invitation already accepted", name: "invitation_token" });
  const otherAccount = await accept(await personToken(email), acceptToken);
  assert.equal(otherAccount.status, 410);
});

Deno.test(
  "20 concurrent acceptances of one link: exactly one wins, one account, one membership",
  async () => {
    const merchant = await createMerchant(sql);
    const email = uniqueEmail("race");
    const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "mentor");
    // Half of them the same person retrying, half different sign-ins of that address.
    const sub = crypto.randomUUID();
    const tokens = await Promise.all(
      Array.from({ length: 20 }, (_, i) => personToken(email, i % 2 ? sub : crypto.randomUUID())),
    );
    // A connection for each, and the link's row held until all 20 wait at the database, so they
    // really run at once rather than one after another as fast requests otherwise would.
    const racers = await startTestServer({ dbPoolSize: 25, email: server.runtime.config.email });
    const blocker = await sql.reserve();
    let pending: Promise<Awaited<ReturnType<typeof accept>>[]> | undefined;
    try {
      await blocker`begin`;
      await blocker`select 1 from invitation_tokens where invitation_id = ${invitationId} for update`;
      pending = Promise.all(
        tokens.map((token) =>
          callFunction(racers.functionsUrl, "invite-accept", {
            token,
            body: { invitation_token: acceptToken },
          })
        ),
      );
      await waitFor("all 20 acceptances waiting at the database at once", async () => {
        const [{ waiting }] = await sql`select count(*)::int as waiting from pg_stat_activity
          where wait_event_type = 'Lock' and query like '%app.accept_invitation%'`;
        return waiting === 20;
      });
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    const replies = await pending;
    await racers.close();
    assert.deepEqual(
      replies.map((r) => r.status).sort(),
      [200, ...Array(19).fill(410)],
    );
    for (const reply of replies.filter((r) => r.status === 410)) {
      assert.equal(reply.body.error, "Invitation already accepted");
    }
    const winner = replies.find((r) => r.status === 200)!.body.account_id;
    const accounts = await sql`select id from accounts where email_key = lower(${email})`;
    assert.deepEqual(accounts.map((a) => a.id), [winner]);
    const [{ members }] = await sql`select count(*)::int as members from merchant_members
    where merchant_id = ${merchant.merchantId} and account_id = ${winner}`;
    assert.equal(members, 1);
    assert.equal((await invitationState(invitationId)).spent, 1);
  },
);

Deno.test("an expired link is a 410, whether its token or the database says so", async () => {
  const merchant = await createMerchant(sql);
  const expiredEmail = uniqueEmail("expired");
  const delivered = await inviteAndDeliver(merchant, expiredEmail, "mentor");
  // The same link, minted as the dispatcher would, but with a lifetime already over.
  const claims = decodeJwt(delivered.acceptToken);
  const now = Math.floor(Date.now() / 1000);
  const expiredToken = mintInvitationToken(invitationTokenKey(server.runtime.config.invitationTokenSecret), {
    jti: claims.jti!,
    sub: claims.sub!,
    iat: now - 120,
    exp: now - 60,
  });
  const expired = await accept(await personToken(expiredEmail), expiredToken);
  assert.equal(expired.status, 410);
  assert.deepEqual(expired.body, { error: "Invitation expired", name: "invitation_token" });
  // The token's own expiry is checked before the email: it tells the wrong person only what the token says.
  const wrongPerson = await accept(await personToken(uniqueEmail("wrong")), expiredToken);
  assert.deepEqual([wrongPerson.status, wrongPerson.body.error], [410, "Invitation expired"]);
  assert.equal(decodeJwt(expiredToken).exp, now - 60);

  const email = uniqueEmail("expired-in-db");
  const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "mentor");
  await sql`update invitation_tokens set issued_at = now() - interval '1 hour', expires_at = now() - interval '1 second'
    where invitation_id = ${invitationId} and redeemed_at is null and revoked_at is null`;
  const reply = await accept(await personToken(email), acceptToken);
  assert.equal(reply.status, 410);
  assert.deepEqual(reply.body, { error: "Invitation expired", name: "invitation_token" });
  assert.equal((await invitationState(invitationId)).accepted, false);
});

Deno.test("a link replaced by force_invite is revoked; the new one works", async () => {
  const merchant = await createMerchant(sql);
  const email = uniqueEmail("resent");
  const first = await inviteAndDeliver(merchant, email, "mentor");
  const second = await inviteAndDeliver(merchant, email, "mentor", { force_invite: true });
  assert.equal(second.invitationId, first.invitationId);
  assert.notEqual(second.acceptToken, first.acceptToken);
  const token = await personToken(email);
  const old = await accept(token, first.acceptToken);
  assert.equal(old.status, 410);
  assert.deepEqual(old.body, {
    error: "Invitation link revoked: a newer one was sent",
    name: "invitation_token",
  });
  assert.equal((await accept(token, second.acceptToken)).status, 200);
});

Deno.test("an invitation superseded by a direct grant is revoked", async () => {
  const merchant = await createMerchant(sql);
  const email = uniqueEmail("superseded");
  const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "mentor");
  // Meanwhile the person got an account (through another merchant), so a new invitation grants the role at once.
  const sub = crypto.randomUUID();
  await sql`insert into accounts (id, email) values (${sub}, ${email})`;
  const direct = await callFunction(server.functionsUrl, "invite-users", {
    token: await userToken(merchant.ownerId),
    body: { users: [{ email, type: "mentor" }] },
  });
  assert.equal(direct.body[0].result, "Activated");
  assert.equal((await invitationState(invitationId)).revoked, true);
  const reply = await accept(await personToken(email, sub), acceptToken);
  assert.equal(reply.status, 410);
  assert.deepEqual(reply.body, {
    error: "Invitation revoked: access was granted directly",
    name: "invitation_token",
  });
});

Deno.test(
  "a direct grant below an open invitation's role leaves the offer standing: staff cannot destroy or take over an owner's offer",
  async () => {
    const merchant = await createMerchant(sql);
    const staff = await userToken(await createStaff(sql, merchant.merchantId, "merchant"));
    const email = uniqueEmail("owner-offer");
    const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "merchant_owner");
    const sub = crypto.randomUUID();
    await sql`insert into accounts (id, email) values (${sub}, ${email})`;
    // Staff grant what they may, up to their own role: the person gets it, the owner's offer stays open.
    for (const type of ["user", "merchant"]) {
      const byStaff = await callFunction(server.functionsUrl, "invite-users", {
        token: staff,
        body: { users: [{ email, type }] },
      });
      assert.deepEqual([byStaff.body[0].result, byStaff.body[0].profile_id], ["Activated", sub], type);
      assert.deepEqual((await membersOf(merchant.merchantId, sub)).map((m) => m.role), [type]);
      assert.deepEqual(await invitationState(invitationId), {
        accepted: false,
        accepted_by: null,
        revoked: false,
        spent: 0,
      });
    }
    const reply = await accept(await personToken(email, sub), acceptToken);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.role, "merchant_owner", "the offer, as the owner made it");
  },
);

Deno.test("a platform admin accepting an invitation keeps no home merchant", async () => {
  const merchant = await createMerchant(sql);
  const email = uniqueEmail("admin");
  const { acceptToken } = await inviteAndDeliver(merchant, email, "merchant");
  const sub = crypto.randomUUID();
  await sql`insert into accounts (id, email, is_platform_admin) values (${sub}, ${email}, true)`;
  const reply = await accept(await personToken(email, sub), acceptToken);
  assert.deepEqual([reply.status, reply.body.role], [200, "merchant"]);
  const [{ home_merchant_id }] = await sql`select home_merchant_id from accounts where id = ${sub}`;
  assert.equal(home_merchant_id, null);
});

Deno.test(
  "an invitation lapses with its inviter's authority: a 410 until someone who may grant the role invites again",
  async () => {
    const merchant = await createMerchant(sql);
    const staffId = await createStaff(sql, merchant.merchantId, "merchant");
    const email = uniqueEmail("lapsed");
    const lapsed = await inviteAndDeliver(merchant, email, "merchant", {}, await userToken(staffId));
    await sql`delete from merchant_members where account_id = ${staffId}`;
    const sub = crypto.randomUUID();
    const token = await personToken(email, sub);
    const reply = await accept(token, lapsed.acceptToken);
    assert.equal(reply.status, 410);
    assert.deepEqual(reply.body, {
      error: "Invitation withdrawn: whoever sent it can no longer grant this role",
      name: "invitation_token",
    });
    assert.deepEqual(await invitationState(lapsed.invitationId), {
      accepted: false,
      accepted_by: null,
      revoked: false,
      spent: 0,
    });
    assert.equal((await sql`select 1 from accounts where id = ${sub}`).length, 0);

    // Its link still works, but the offer no longer stands: a plain invite sends it again.
    const renewed = await inviteAndDeliver(merchant, email, "merchant");
    assert.equal(renewed.invitationId, lapsed.invitationId);
    const accepted = await accept(token, renewed.acceptToken);
    assert.deepEqual([accepted.status, accepted.body.role], [200, "merchant"]);

    // The service key's authority does not lapse.
    const byServiceKey = uniqueEmail("by-service-key");
    const { acceptToken } = await inviteAndDeliver(
      merchant,
      byServiceKey,
      "merchant_owner",
      { merchant_id: merchant.merchantId },
      LOCAL_SECRET_KEY,
    );
    assert.equal((await accept(await personToken(byServiceKey), acceptToken)).status, 200);
  },
);

Deno.test("a different account already holding the invited address: 409, nothing written", async () => {
  const merchant = await createMerchant(sql);
  const email = uniqueEmail("taken");
  const { invitationId, acceptToken } = await inviteAndDeliver(merchant, email, "user");
  await sql`insert into accounts (id, email) values (${crypto.randomUUID()}, ${email})`;
  const sub = crypto.randomUUID();
  const reply = await accept(await personToken(email, sub), acceptToken);
  assert.equal(reply.status, 409);
  assert.deepEqual(reply.body, { error: "Another account already uses this email address" });
  assert.equal((await sql`select 1 from accounts where id = ${sub}`).length, 0);
  assert.equal((await invitationState(invitationId)).spent, 0);
});

Deno.test("tokens that are not accept links: 422", async () => {
  const token = await personToken(uniqueEmail("anyone"));
  const sign = (secret: string, aud: string, jti = crypto.randomUUID()) =>
    new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setAudience(aud).setSubject(crypto.randomUUID())
      .setJti(jti).setIssuedAt().setExpirationTime("1h").sign(new TextEncoder().encode(secret));
  const config = server.runtime.config;
  for (
    const [label, invitationToken] of [
      ["garbage", "not-a-token"],
      ["another secret", await sign("some-other-secret-some-other-secret", "invitation")],
      ["an interview token", await sign(config.interviewTokenSecret, "interview")],
      ["a well-signed link nobody issued", await sign(config.invitationTokenSecret, "invitation")],
    ]
  ) {
    const reply = await accept(token, invitationToken);
    assert.equal(reply.status, 422, label);
    assert.deepEqual(reply.body, { error: "Invalid invitation token", name: "invitation_token" }, label);
  }
  const missing = await callFunction(server.functionsUrl, "invite-accept", { token, body: {} });
  assert.deepEqual([missing.status, missing.body], [422, {
    error: "Field is required.",
    name: "invitation_token",
  }]);
});

Deno.test(
  "a claimed accept email whose link stopped working is cancelled at send time, not sent",
  async () => {
    const merchant = await createMerchant(sql);
    const owner = await userToken(merchant.ownerId);
    const key = invitationTokenKey(server.runtime.config.invitationTokenSecret);
    const invite = async (email: string, extra: Record<string, unknown> = {}) =>
      await callFunction(server.functionsUrl, "invite-users", {
        token: owner,
        body: { users: [{ email, type: "mentor" }], ...extra },
      });
    /** Invites `email` and claims its email as a dispatcher would, leaving it waiting for its slot. */
    const invitedAndClaimed = async (email: string) => {
      const reply = await invite(email);
      assert.equal(reply.body[0].result, "Invited");
      const claimId = crypto.randomUUID();
      const [row] = await sql`update email_outbox
        set status = 'sending', claim_id = ${claimId}, lease_expires_at = now() + interval '5 minutes',
          attempts = attempts + 1
        where invitation_id = ${reply.body[0].invitation_id} and status = 'pending'
        returning id, payload`;
      return { invitationId: reply.body[0].invitation_id, outboxId: row.id, payload: row.payload, claimId };
    };

    const wanted = await invitedAndClaimed(uniqueEmail("still-wanted"));

    const replacedEmail = uniqueEmail("replaced");
    const replaced = await invitedAndClaimed(replacedEmail);
    assert.equal((await invite(replacedEmail, { force_invite: true })).body[0].result, "Invited");

    const acceptedEmail = uniqueEmail("accepted");
    const accepted = await invitedAndClaimed(acceptedEmail);
    const acceptToken = mintInvitationToken(key, {
      jti: accepted.payload.jti,
      sub: accepted.invitationId,
      iat: accepted.payload.iat,
      exp: accepted.payload.exp,
    });
    assert.equal((await accept(await personToken(acceptedEmail), acceptToken)).status, 200);

    const grantedEmail = uniqueEmail("granted");
    const granted = await invitedAndClaimed(grantedEmail);
    await sql`insert into accounts (id, email) values (${crypto.randomUUID()}, ${grantedEmail})`;
    assert.equal((await invite(grantedEmail)).body[0].result, "Activated");

    const expired = await invitedAndClaimed(uniqueEmail("expired-waiting"));
    await sql`update invitation_tokens set issued_at = now() - interval '1 hour', expires_at = now() - interval '1 second'
      where invitation_id = ${expired.invitationId}`;

    const claims = [wanted, replaced, accepted, granted, expired];
    for (const claim of claims) {
      await checkEmails(sql, [claim.outboxId], claim.claimId);
    }
    const outcomes = await sql`select id, status::text, attempts, last_error from email_outbox
      where id = any(${claims.map((c) => c.outboxId)}::uuid[])`;
    const outcomeOf = (claim: { outboxId: string }) => {
      const { status, attempts, last_error } = outcomes.find((o) => o.id === claim.outboxId)!;
      return { status, attempts, last_error };
    };
    assert.deepEqual(outcomeOf(wanted), { status: "sending", attempts: 1, last_error: null });
    const cancelled = (last_error: string) => ({ status: "cancelled", attempts: 0, last_error });
    assert.deepEqual(outcomeOf(replaced), cancelled("The accept link was replaced by a newer one"));
    assert.deepEqual(outcomeOf(accepted), cancelled("The invitation was already accepted"));
    assert.deepEqual(
      outcomeOf(granted),
      cancelled("The invitation was revoked: access was granted directly"),
    );
    assert.deepEqual(outcomeOf(expired), cancelled("The accept link has expired"));

    // The re-sent invitation still goes out, once, with the link that works.
    await sql`update email_outbox set status = 'pending', claim_id = null, lease_expires_at = null, attempts = 0
      where id = ${wanted.outboxId}`;
    await env.dispatchOnce();
    const mails = messagesTo(env.catcher.messages(), replacedEmail);
    assert.equal(mails.length, 1, "only the re-sent invitation reached them");
    const link = mails[0].parsed.text?.match(/invitation_token=([\w-]+\.[\w-]+\.[\w-]+)/);
    assert.ok(link);
    assert.equal((await accept(await personToken(replacedEmail), link[1])).status, 200);
  },
);
