import assert from "node:assert/strict";
import type { CaughtMessage } from "../scripts/mail_catcher.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { MOJITO_LANGUAGE_CODES } from "../supabase/functions/_shared/invitations/schemas.ts";
import { SEED, userToken } from "./_support/credentials.ts";
import { messagesTo, startEmailTestEnv, uniqueEmail, waitFor } from "./_support/email.ts";
import {
  createInterview,
  createMerchant,
  createPosition,
  createStaff,
  credits,
  merchantFootprint,
} from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";

const env = await startEmailTestEnv();
const { sql, server } = env;
const opts = { sanitizeOps: false, sanitizeResources: false };
// Seeded for invite-users (supabase/seed.sql, README "Seed data").
const GLOBEX_COACH = "b0000000-0000-4000-8000-000000000010";
const GLOBEX_RECRUITER = "b0000000-0000-4000-8000-000000000011";
const PENDING_INVITATION = "e0000000-0000-4000-8000-000000000001";
const FN = "invite-users";
// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;

const invite = (token: string, body: unknown) =>
  callFunction<Row[]>(server.functionsUrl, FN, { token, body });

/** Delivers every queued email through the real dispatcher and SMTP server; returns what reached `address`. */
async function deliveredTo(address: string): Promise<CaughtMessage[]> {
  await env.dispatchOnce();
  return messagesTo(env.catcher.messages(), address);
}

/** An account with no membership anywhere: a person who signed up but belongs to no merchant yet. */
async function createAccount(email: string, name = "Ada Account"): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into accounts (id, email, full_name) values (${id}, ${email}, ${name})`;
  return id;
}

async function roleAt(accountId: string, merchantId: string): Promise<string | undefined> {
  const [row] =
    await sql`select role from merchant_members where account_id = ${accountId} and merchant_id = ${merchantId}`;
  return row?.role;
}

async function openInvitation(merchantId: string, email: string) {
  const [row] = await sql`
    select i.id, i.role, i.name, i.invited_by,
      (select count(*)::int from invitation_tokens t where t.invitation_id = i.id) as links,
      (select count(*)::int from invitation_tokens t
        where t.invitation_id = i.id and t.redeemed_at is null and t.revoked_at is null) as live_links
    from merchant_invitations i
    where i.merchant_id = ${merchantId} and i.email_key = lower(${email})
      and i.accepted_at is null and i.revoked_at is null`;
  return row;
}

const outboxTo = (email: string) =>
  sql`select kind, status, language, to_name, payload from email_outbox where lower(to_email) = lower(${email}) order by created_at`;

Deno.test(
  "the cookbook's invite-users curl body, sent verbatim: 200, its placeholder interview id fails that row only",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const before = await merchantFootprint(sql, fixture.merchantId);
    const reply = await callFunction<Row[]>(server.functionsUrl, FN, {
      token: await userToken(fixture.ownerId),
      rawBody: `{
      "users": [
        { "name": "Peter Parker", "email": "peter@parker.com",
          "type": "candidate", "interview_id": "9c1b…e4f2" }
      ],
      "message_from_recruiter": "We'd love you to complete this short interview."
    }`,
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, [{
      name: "Peter Parker",
      email: "peter@parker.com",
      type: "candidate",
      interview_id: "9c1b…e4f2",
      result: "Error: Invalid interview_id",
      profile_id: null,
      profile_interview_id: null,
    }]);
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  },
);

Deno.test(
  "the cookbook's body with its placeholder replaced by a real interview: Invited, one credit, one email carrying the message",
  opts,
  async () => {
    const fixture = await createMerchant(sql, { credits: 5 });
    const reply = await callFunction<Row[]>(server.functionsUrl, FN, {
      token: await userToken(fixture.ownerId),
      rawBody: `{
      "users": [
        { "name": "Peter Parker", "email": "peter@parker.com",
          "type": "candidate", "interview_id": "${fixture.interviewId}" }
      ],
      "message_from_recruiter": "We'd love you to complete this short interview."
    }`,
    });
    assert.equal(reply.status, 200);
    const [row] = reply.body;
    assert.equal(row.result, "Invited");
    assert.match(row.profile_id, /^[0-9a-f-]{36}$/);
    assert.match(row.profile_interview_id, /^[0-9a-f-]{36}$/);
    assert.equal(await credits(sql, fixture.merchantId), 4);
    const [registration] = await sql`
    select pi.status, pi.is_test, p.email, p.name from profile_interviews pi join candidate_profiles p on p.id = pi.profile_id
    where pi.id = ${row.profile_interview_id}`;
    assert.deepEqual({ ...registration }, {
      status: "registered",
      is_test: false,
      email: "peter@parker.com",
      name: "Peter Parker",
    });

    const [mail] = (await deliveredTo("peter@parker.com")).filter((m) =>
      m.parsed.text?.includes(fixture.interviewId)
    );
    assert.ok(mail, "the invitation reached the candidate");
    assert.match(mail.parsed.text!, /We'd love you to complete this short interview\./);
    assert.match(mail.parsed.text!, new RegExp(`/interview/take/${fixture.interviewId}/\\?interview_token=`));
    assert.match(mail.parsed.html!, /We&#39;d love you to complete this short interview\./);
  },
);

Deno.test(
  "every type and every result, each checked in the database and in the delivered email",
  opts,
  async (t) => {
    const fixture = await createMerchant(sql, { credits: 10 });
    const owner = await userToken(fixture.ownerId);
    const people = {
      candidate: uniqueEmail("candidate"),
      owner: uniqueEmail("owner"),
      merchant: uniqueEmail("merchant"),
      selection: uniqueEmail("selection"),
      mentor: uniqueEmail("mentor"),
      user: uniqueEmail("user"),
      signedUp: uniqueEmail("signed-up"),
    };
    const signedUpId = await createAccount(people.signedUp, "Sid Signedup");
    const teammate = await createStaff(sql, fixture.merchantId, "merchant");
    const [{ email: teammateEmail }] = await sql`select email from accounts where id = ${teammate}`;

    const reply = await invite(owner, {
      mojito_language_code: "fr",
      message_from_recruiter: "Bienvenue <script>alert(1)</script> & merci",
      users: [
        {
          email: people.candidate,
          name: "Cam Candidate",
          type: "candidate",
          interview_id: fixture.interviewId,
          ref: 7,
        },
        { email: people.owner, name: "Otto Owner", type: "merchant_owner" },
        { email: people.merchant, type: "merchant" },
        { email: people.selection, type: "merchant_selection" },
        { email: people.mentor, type: "mentor" },
        { email: people.user, name: "Uma User" },
        { email: people.signedUp, type: "mentor" },
        { email: "Recruiter@Globex.example", type: "merchant" },
        { email: "coach@globex.example", type: "user" },
        { email: teammateEmail, type: "merchant" },
      ],
    });
    assert.equal(reply.status, 200);
    const results = reply.body.map((r) => r.result);
    assert.deepEqual(results, [
      "Invited",
      "Invited",
      "Invited",
      "Invited",
      "Invited",
      "Invited",
      "Activated",
      "SubMerchantAdded",
      "CoachingAccessAdded",
      "Skipped",
    ]);
    const [candidate, ownerRow, , , , userRow, signedUp, subMerchant, coaching, skipped] = reply.body;

    await t.step(
      "candidate: registered with the invitation email, ids echoed with the row's own keys",
      async () => {
        assert.equal(candidate.ref, 7);
        const [profile] =
          await sql`select id, name from candidate_profiles where id = ${candidate.profile_id}`;
        assert.equal(profile.name, "Cam Candidate");
        const emails = await outboxTo(people.candidate);
        assert.deepEqual(emails.map((e) => [e.kind, e.language]), [["invitation", "fr"]]);
        assert.equal(await credits(sql, fixture.merchantId), 9);
      },
    );

    await t.step(
      "no account yet: an open invitation per person with its role, one live link, profile_id null",
      async () => {
        for (
          const [email, role] of [
            [people.owner, "merchant_owner"],
            [people.merchant, "merchant"],
            [people.selection, "merchant_selection"],
            [people.mentor, "mentor"],
            [people.user, "user"],
          ]
        ) {
          const invitation = await openInvitation(fixture.merchantId, email);
          assert.equal(invitation?.role, role, email);
          assert.equal(invitation.invited_by, fixture.ownerId);
          assert.equal(invitation.live_links, 1);
          const row = reply.body.find((r) => r.email === email)!;
          assert.equal(row.profile_id, null);
          assert.equal(row.invitation_id, invitation.id);
          assert.ok(!("profile_interview_id" in row), "only candidate rows carry profile_interview_id");
          assert.deepEqual((await outboxTo(email)).map((e) => [e.kind, e.status, e.language]), [
            ["role_invitation", "pending", "fr"],
          ]);
        }
        assert.equal(ownerRow.name, "Otto Owner");
        assert.equal(userRow.type, undefined, "a missing type is not invented in the echo");
      },
    );

    await t.step("people with an account get the role at once, and a notice", async () => {
      assert.equal(signedUp.profile_id, signedUpId);
      assert.equal(await roleAt(signedUpId, fixture.merchantId), "mentor");
      const [{ home_merchant_id }] =
        await sql`select home_merchant_id from accounts where id = ${signedUpId}`;
      assert.equal(home_merchant_id, fixture.merchantId, "a person with no home merchant gets this one");
      assert.equal(subMerchant.profile_id, GLOBEX_RECRUITER);
      assert.equal(await roleAt(GLOBEX_RECRUITER, fixture.merchantId), "merchant");
      assert.equal(coaching.profile_id, GLOBEX_COACH);
      assert.equal(await roleAt(GLOBEX_COACH, fixture.merchantId), "user");
      for (
        const [email, result] of [
          [people.signedUp, "Activated"],
          ["recruiter@globex.example", "SubMerchantAdded"],
          ["coach@globex.example", "CoachingAccessAdded"],
        ]
      ) {
        const [notice] = (await outboxTo(email)).filter((e) =>
          e.payload.merchant_name === `Fixture ${fixture.merchantId.slice(0, 8)}`
        );
        assert.equal(notice.kind, "role_granted");
        assert.equal(notice.payload.result, result);
      }
      assert.equal(
        await openInvitation(fixture.merchantId, people.signedUp),
        undefined,
        "no invitation when the role is given",
      );
    });

    await t.step("already holding the role: Skipped, nothing written, no email", async () => {
      assert.equal(skipped.profile_id, teammate);
      assert.equal(await roleAt(teammate, fixture.merchantId), "merchant");
      assert.equal((await outboxTo(teammateEmail)).length, 0);
    });

    await t.step(
      "the emails as delivered: French, with the accept link or the portal, the message escaped",
      async () => {
        const merchantName = `Fixture ${fixture.merchantId.slice(0, 8)}`;
        const [invitation] = await deliveredTo(people.mentor);
        // The fixture owner has no name of their own: the merchant's stands in.
        assert.equal(invitation.parsed.subject, `${merchantName} vous invite à rejoindre ${merchantName}`);
        assert.match(invitation.parsed.text!, /en tant que mentor\./);
        assert.match(
          invitation.parsed.text!,
          /http:\/\/localhost:3000\/invitation\/accept\/\?invitation_token=[\w-]+\.[\w-]+\.[\w-]+/,
        );
        assert.match(
          invitation.parsed.text!,
          /Bienvenue <script>alert\(1\)<\/script> & merci/,
          "plain text prints the message as written",
        );
        assert.match(
          invitation.parsed.html!,
          /Bienvenue &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; merci/,
        );
        assert.ok(
          !invitation.parsed.html!.includes("<script>"),
          "the HTML part never carries the recruiter's markup",
        );

        const [ownerMail] = await deliveredTo(people.owner);
        assert.match(ownerMail.parsed.text!, /en tant que propriétaire\./);
        assert.match(ownerMail.parsed.text!, /^Bonjour Otto Owner,/);

        const [notice] = await deliveredTo(people.signedUp);
        assert.equal(notice.parsed.subject, `Vous avez désormais accès à ${merchantName}`);
        assert.match(notice.parsed.text!, /http:\/\/localhost:3000\n/);

        const [candidateMail] = await deliveredTo(people.candidate);
        assert.match(candidateMail.parsed.text!, /interview_token=/);
        assert.match(candidateMail.parsed.html!, /Bienvenue &lt;script&gt;/);

        // Every other row's email too: one each, saying the role it offers or gives.
        for (
          const [address, role] of [
            [people.merchant, "membre de l'équipe"],
            [people.selection, "membre de l'équipe de sélection"],
            [people.user, "utilisateur du portail de coaching"],
            ["recruiter@globex.example", "membre de l'équipe"],
            ["coach@globex.example", "utilisateur du portail de coaching"],
          ]
        ) {
          const mails = (await deliveredTo(address)).filter((m) => m.parsed.subject!.endsWith(merchantName));
          assert.equal(mails.length, 1, address);
          assert.match(mails[0].parsed.text!, new RegExp(`en tant que ${role}\\.`), address);
        }
        assert.equal((await deliveredTo(teammateEmail)).length, 0, "the skipped row got nothing");
      },
    );
  },
);

Deno.test(
  "inviter's name in the emails: the staff member's, or the merchant's with the service key",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    await sql`update accounts set full_name = 'Olga Owner' where id = ${fixture.ownerId}`;
    const byOwner = uniqueEmail("by-owner");
    const byService = uniqueEmail("by-service");
    await invite(await userToken(fixture.ownerId), { users: [{ email: byOwner, type: "mentor" }] });
    const reply = await invite(LOCAL_SECRET_KEY, {
      merchant_id: fixture.merchantId,
      users: [{ email: byService, type: "mentor" }],
    });
    assert.equal(reply.body[0].result, "Invited");
    const merchantName = `Fixture ${fixture.merchantId.slice(0, 8)}`;
    assert.equal(
      (await deliveredTo(byOwner))[0].parsed.subject,
      `Olga Owner invited you to join ${merchantName}`,
    );
    assert.equal(
      (await deliveredTo(byService))[0].parsed.subject,
      `${merchantName} invited you to join ${merchantName}`,
    );
    assert.equal((await openInvitation(fixture.merchantId, byService)).invited_by, null);
  },
);

Deno.test("a role is raised by a re-invite but never lowered", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const learner = await createStaff(sql, fixture.merchantId, "user");
  const [{ email: learnerEmail }] = await sql`select email from accounts where id = ${learner}`;
  const raised = await invite(owner, { users: [{ email: learnerEmail, type: "mentor" }] });
  assert.equal(raised.body[0].result, "Activated");
  assert.equal(await roleAt(learner, fixture.merchantId), "mentor");

  const lowered = await invite(owner, { users: [{ email: learnerEmail, type: "user" }] });
  assert.equal(lowered.body[0].result, "Skipped");
  assert.equal(await roleAt(learner, fixture.merchantId), "mentor");

  // The same for an open invitation: a higher role replaces its offer and sends a new link.
  const pending = uniqueEmail("pending");
  await invite(owner, { users: [{ email: pending, type: "user" }] });
  const upgraded = await invite(owner, { users: [{ email: pending, type: "merchant" }] });
  assert.equal(upgraded.body[0].result, "Invited");
  const invitation = await openInvitation(fixture.merchantId, pending);
  assert.equal(invitation.role, "merchant");
  assert.deepEqual([invitation.links, invitation.live_links], [2, 1]);
  const again = await invite(owner, { users: [{ email: pending, type: "user" }], force_invite: true });
  assert.equal(again.body[0].result, "Invited");
  assert.equal(
    (await openInvitation(fixture.merchantId, pending)).role,
    "merchant",
    "re-sending keeps the higher offer",
  );
});

Deno.test(
  "a platform admin given a role keeps no home merchant: their requests still name the merchant they act for",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const email = uniqueEmail("admin");
    const adminId = await createAccount(email, "Adele Admin");
    await sql`update accounts set is_platform_admin = true where id = ${adminId}`;
    const reply = await invite(await userToken(fixture.ownerId), { users: [{ email, type: "mentor" }] });
    assert.deepEqual([reply.body[0].result, reply.body[0].profile_id], ["Activated", adminId]);
    assert.equal(await roleAt(adminId, fixture.merchantId), "mentor");
    const [{ home_merchant_id }] = await sql`select home_merchant_id from accounts where id = ${adminId}`;
    assert.equal(home_merchant_id, null);
  },
);

Deno.test(
  "invited_by is whoever made the offer as it stands: a raise or a re-send by someone else takes it over",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const staff = await createStaff(sql, fixture.merchantId, "merchant");
    const email = uniqueEmail("handed-over");
    const inviter = async (token: string, type: string, extra: Record<string, unknown> = {}) => {
      const reply = await invite(token, { users: [{ email, type }], ...extra });
      assert.equal(reply.body[0].result, "Invited");
      return (await openInvitation(fixture.merchantId, email)).invited_by;
    };
    assert.equal(await inviter(await userToken(fixture.ownerId), "user"), fixture.ownerId);
    assert.equal(await inviter(await userToken(staff), "merchant"), staff, "raised");
    assert.equal(
      await inviter(await userToken(fixture.ownerId), "merchant", { force_invite: true }),
      fixture.ownerId,
      "re-sent",
    );
    assert.equal(
      await inviter(LOCAL_SECRET_KEY, "user", { merchant_id: fixture.merchantId, force_invite: true }),
      null,
      "re-sent with the service key",
    );
  },
);

Deno.test(
  "a candidate named twice for one interview, once through a position of it, is a duplicate like any other",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const position = await createPosition(sql, fixture.merchantId, fixture.interviewId);
    const other = await createInterview(sql, fixture.merchantId);
    const [twice, once, elsewhere] = [uniqueEmail("twice"), uniqueEmail("once"), uniqueEmail("elsewhere")];
    const before = await merchantFootprint(sql, fixture.merchantId);
    const reply = await invite(await userToken(fixture.ownerId), {
      users: [
        { email: twice, type: "candidate", interview_id: position },
        { email: once, type: "candidate", interview_id: fixture.interviewId },
        { email: twice.toUpperCase(), type: "candidate", interview_id: fixture.interviewId },
        { email: elsewhere, type: "candidate", interview_id: fixture.interviewId },
        { email: elsewhere, type: "candidate", interview_id: other },
      ],
    });
    assert.deepEqual(reply.body.map((r) => r.result), [
      "Invited",
      "Invited",
      "Error: Duplicate email in request",
      "Invited",
      "Invited",
    ]);
    assert.deepEqual([reply.body[2].profile_id, reply.body[2].profile_interview_id], [null, null]);
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), {
      profiles: before.profiles + 3,
      registrations: before.registrations + 4,
      tokens: before.tokens + 4,
      emails: before.emails + 4,
      credits: before.credits - 4,
    });
    const [registration] = await sql`select position_id from profile_interviews where id = ${
      reply.body[0].profile_interview_id
    }`;
    assert.equal(registration.position_id, position, "the first occurrence, as it was named");
  },
);

Deno.test("a mixed batch: failing rows write nothing, the other rows all succeed", opts, async () => {
  const fixture = await createMerchant(sql, { credits: 1 });
  const archived = await createInterview(sql, fixture.merchantId, { status: "archived" });
  const staff = await userToken(await createStaff(sql, fixture.merchantId, "merchant"));
  const ok = [uniqueEmail("ok-candidate"), uniqueEmail("ok-mentor"), uniqueEmail("ok-merchant")];
  const before = await merchantFootprint(sql, fixture.merchantId);
  const reply = await invite(staff, {
    users: [
      { email: ok[0], type: "candidate", interview_id: fixture.interviewId },
      { email: "not-an-email", type: "mentor" },
      { email: ok[1], type: "mentor" },
      { name: "No Email", type: "user" },
      { email: uniqueEmail("wizard"), type: "wizard" },
      { email: uniqueEmail("no-interview"), type: "candidate" },
      { email: uniqueEmail("unknown-interview"), type: "candidate", interview_id: crypto.randomUUID() },
      { email: uniqueEmail("archived"), type: "candidate", interview_id: archived },
      { email: uniqueEmail("no-credit"), type: "candidate", interview_id: fixture.interviewId },
      { email: uniqueEmail("escalation"), type: "merchant_owner" },
      { email: ok[2], type: "merchant" },
      { email: ok[1].toUpperCase(), type: "user" },
      { email: 42, type: "user" },
    ],
  });
  assert.equal(reply.status, 200);
  assert.deepEqual(reply.body.map((r) => r.result), [
    "Invited",
    "Error: Invalid email",
    "Invited",
    "Error: Email is required",
    "Error: Invalid type",
    "Error: interview_id is required for candidates",
    "Error: Interview not found",
    "Error: Interview is not available",
    "Error: Not enough interview credits",
    "Error: Only a merchant owner or an admin can grant merchant_owner",
    "Invited",
    "Error: Duplicate email in request",
    "Error: Invalid email",
  ]);
  for (const [i, row] of reply.body.entries()) {
    if (row.result.startsWith("Error")) {
      assert.equal(row.profile_id, null, `row ${i}`);
      assert.equal("profile_interview_id" in row, row.type === "candidate", `row ${i}`);
    }
  }
  const after = await merchantFootprint(sql, fixture.merchantId);
  assert.deepEqual(after, {
    ...before,
    profiles: before.profiles + 1,
    registrations: before.registrations + 1,
    tokens: before.tokens + 1,
    emails: before.emails + 3,
    credits: 0,
  });
  const [{ invitations }] = await sql`
    select count(*)::int as invitations from merchant_invitations where merchant_id = ${fixture.merchantId}`;
  assert.equal(invitations, 2, "only the two valid team and coaching rows");
});

Deno.test(
  "force_invite sends a still-pending invitation again: exactly one more email, and only the newest link works",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const mentor = uniqueEmail("force-mentor");
    const candidate = uniqueEmail("force-candidate");
    const users: Record<string, unknown>[] = [
      { email: mentor, type: "mentor" },
      { email: candidate, type: "candidate", interview_id: fixture.interviewId, name: "First Name" },
    ];
    const first = await invite(owner, { users });
    const profileName = async () =>
      (await sql`select name, external_id from candidate_profiles where id = ${first.body[1].profile_id}`)[0];
    const renamed = { name: "Second Name", external_id: "ats-42" };
    users[1] = { ...users[1], ...renamed };
    assert.deepEqual(first.body.map((r) => r.result), ["Invited", "Invited"]);
    assert.equal((await deliveredTo(mentor)).length, 1);
    assert.equal((await deliveredTo(candidate)).length, 1);
    const firstLink = (await deliveredTo(mentor))[0].parsed.text!.match(/invitation_token=(\S+)/)![1];

    const plain = await invite(owner, { users });
    assert.deepEqual(plain.body.map((r) => r.result), ["Skipped", "Skipped"]);
    assert.equal(plain.body[0].invitation_id, first.body[0].invitation_id);
    assert.equal(plain.body[1].profile_interview_id, first.body[1].profile_interview_id);
    assert.equal((await deliveredTo(mentor)).length, 1, "a skipped row sends nothing");
    assert.equal((await deliveredTo(candidate)).length, 1);
    assert.deepEqual(
      { ...await profileName() },
      { name: "First Name", external_id: null },
      "skipped: unchanged",
    );

    const forced = await invite(owner, { users, force_invite: "true" });
    assert.deepEqual({ ...await profileName() }, renamed, "sent again: updated");
    assert.deepEqual(forced.body.map((r) => r.result), ["Invited", "Invited"]);
    assert.equal(
      forced.body[0].invitation_id,
      first.body[0].invitation_id,
      "the same invitation, sent again",
    );
    assert.equal(
      forced.body[1].profile_interview_id,
      first.body[1].profile_interview_id,
      "the same registration",
    );
    const mentorMails = await deliveredTo(mentor);
    assert.equal(mentorMails.length, 2);
    assert.equal((await deliveredTo(candidate)).length, 2);
    assert.equal(
      await credits(sql, fixture.merchantId),
      999,
      "one credit for the candidate, not one per email",
    );
    const newLink = mentorMails[1].parsed.text!.match(/invitation_token=(\S+)/)![1];
    assert.notEqual(newLink, firstLink);
    const invitation = await openInvitation(fixture.merchantId, mentor);
    assert.deepEqual([invitation.links, invitation.live_links], [2, 1]);
  },
);

Deno.test(
  "force_invite while the first email is still queued replaces it: one email in all",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const mentor = uniqueEmail("queued");
    await invite(owner, { users: [{ email: mentor, type: "mentor" }] });
    await invite(owner, { users: [{ email: mentor, type: "mentor" }], force_invite: true });
    assert.deepEqual((await outboxTo(mentor)).map((e) => e.status), ["cancelled", "pending"]);
    assert.equal((await deliveredTo(mentor)).length, 1);
  },
);

Deno.test("an expired pending invitation is sent again without force_invite", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const mentor = uniqueEmail("expired");
  await invite(owner, { users: [{ email: mentor, type: "mentor" }] });
  await sql`update invitation_tokens set issued_at = now() - interval '8 days', expires_at = now() - interval '1 day'
    where invitation_id = ${(await openInvitation(fixture.merchantId, mentor)).id}`;
  const again = await invite(owner, { users: [{ email: mentor, type: "mentor" }] });
  assert.equal(again.body[0].result, "Invited");
  assert.equal((await openInvitation(fixture.merchantId, mentor)).live_links, 1);
});

Deno.test("the seeded pending invitation is Skipped", opts, async () => {
  const reply = await invite(await userToken(SEED.owner), {
    users: [{ email: "Pending.Mentor@example.com", type: "mentor" }],
  });
  assert.deepEqual(reply.body[0], {
    email: "Pending.Mentor@example.com",
    type: "mentor",
    result: "Skipped",
    profile_id: null,
    invitation_id: PENDING_INVITATION,
  });
});

Deno.test("privileges: who may grant what", opts, async (t) => {
  const parent = await createMerchant(sql);
  const sub = await createMerchant(sql, { parentId: parent.merchantId });
  const staff = await createStaff(sql, parent.merchantId, "merchant");
  const subStaff = await createStaff(sql, sub.merchantId, "merchant");
  const [{ email: staffEmail }] = await sql`select email from accounts where id = ${staff}`;

  await t.step("staff grant their own role and below, never merchant_owner", async () => {
    const reply = await invite(await userToken(staff), {
      users: ["merchant_owner", "merchant", "merchant_selection", "mentor", "user"].map((type) => ({
        email: uniqueEmail(type),
        type,
      })),
    });
    assert.deepEqual(reply.body.map((r) => r.result), [
      "Error: Only a merchant owner or an admin can grant merchant_owner",
      "Invited",
      "Invited",
      "Invited",
      "Invited",
    ]);
  });

  await t.step("an escalation attempt: staff inviting themselves as owner changes nothing", async () => {
    const reply = await invite(await userToken(staff), {
      users: [{ email: staffEmail, type: "merchant_owner" }],
    });
    assert.equal(reply.body[0].result, "Error: Only a merchant owner or an admin can grant merchant_owner");
    assert.equal(await roleAt(staff, parent.merchantId), "merchant");
    assert.equal((await outboxTo(staffEmail)).length, 0);
  });

  await t.step("staff cannot re-send an owner's invitation for merchant_owner", async () => {
    const email = uniqueEmail("owner-offer");
    await invite(await userToken(parent.ownerId), { users: [{ email, type: "merchant_owner" }] });
    const reply = await invite(await userToken(staff), {
      users: [{ email, type: "user" }],
      force_invite: true,
    });
    assert.equal(reply.body[0].result, "Error: Cannot re-send an invitation for a role above your own");
    assert.equal((await openInvitation(parent.merchantId, email)).live_links, 1);
  });

  await t.step("owners, admins and the service key grant merchant_owner", async () => {
    for (
      const [token, merchantId] of [
        [await userToken(parent.ownerId), null],
        [await userToken(SEED.admin), parent.merchantId],
        [LOCAL_SECRET_KEY, parent.merchantId],
      ]
    ) {
      const email = uniqueEmail("new-owner");
      const reply = await invite(token!, {
        merchant_id: merchantId,
        users: [{ email, type: "merchant_owner" }],
      });
      assert.equal(reply.body[0].result, "Invited");
      assert.equal((await openInvitation(parent.merchantId, email)).role, "merchant_owner");
    }
  });

  await t.step(
    "sub-merchants: the parent's owner acts for them with their own rank; their staff stay below owner",
    async () => {
      const fromParent = await invite(await userToken(parent.ownerId), {
        merchant_id: sub.merchantId,
        users: [{ email: uniqueEmail("sub-owner"), type: "merchant_owner" }],
      });
      assert.equal(fromParent.body[0].result, "Invited");
      const parentStaffForSub = await invite(await userToken(staff), {
        merchant_id: sub.merchantId,
        users: [{ email: uniqueEmail("sub-owner"), type: "merchant_owner" }, {
          email: uniqueEmail("sub-m"),
          type: "merchant",
        }],
      });
      assert.deepEqual(parentStaffForSub.body.map((r) => r.result), [
        "Error: Only a merchant owner or an admin can grant merchant_owner",
        "Invited",
      ]);
      const upward = await invite(await userToken(subStaff), {
        merchant_id: parent.merchantId,
        users: [{ email: uniqueEmail("up"), type: "user" }],
      });
      assert.equal(upward.status, 403);
      assert.deepEqual(upward.body, { error: "Not allowed to act for this merchant", name: "merchant_id" });
    },
  );

  await t.step(
    "roles that may not invite, strangers and missing merchant_id are rejected as a whole",
    async () => {
      const before = await merchantFootprint(sql, parent.merchantId);
      const [{ invitations: invitationsBefore }] = await sql`
      select count(*)::int as invitations from merchant_invitations where merchant_id = ${parent.merchantId}`;
      const users = [{ email: uniqueEmail("x"), type: "user" }, {
        email: uniqueEmail("y"),
        type: "candidate",
        interview_id: parent.interviewId,
      }];
      for (const role of ["merchant_selection", "mentor", "user", "candidate"]) {
        const reply = await invite(await userToken(await createStaff(sql, parent.merchantId, role)), {
          users,
        });
        assert.equal(reply.status, 403, role);
        assert.deepEqual(reply.body, { error: "Role not permitted" });
      }
      const stranger = await invite(await userToken(SEED.globexOwner), {
        merchant_id: parent.merchantId,
        users,
      });
      assert.equal(stranger.status, 403);
      const service = await invite(LOCAL_SECRET_KEY, { users });
      assert.equal(service.status, 422);
      assert.deepEqual(service.body, { error: "Field is required.", name: "merchant_id" });
      const unknown = await invite(await userToken(crypto.randomUUID()), { users });
      assert.equal(unknown.status, 401);
      const anonymous = await invite("", { users });
      assert.equal(anonymous.status, 401);
      assert.deepEqual(await merchantFootprint(sql, parent.merchantId), before);
      const [{ invitations }] = await sql`
      select count(*)::int as invitations from merchant_invitations where merchant_id = ${parent.merchantId}`;
      assert.equal(invitations, invitationsBefore);
    },
  );
});

Deno.test(
  "text PostgreSQL cannot store (NUL, an unpaired surrogate): a 422 for the message, the row alone for a row's field",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const candidate = (email: string, fields: Row = {}) => ({
      email,
      type: "candidate",
      interview_id: fixture.interviewId,
      ...fields,
    });
    const before = await merchantFootprint(sql, fixture.merchantId);
    const invitations = async () =>
      (await sql`select email from merchant_invitations where merchant_id = ${fixture.merchantId}`)
        .map((r) => r.email).sort();
    for (const message of ["Hello\u0000", "Hello \udc00"]) {
      const reply = await invite(owner, {
        users: [candidate(uniqueEmail("c")), { email: uniqueEmail("m"), type: "mentor" }],
        message_from_recruiter: message,
      });
      assert.equal(reply.status, 422);
      assert.deepEqual(reply.body, {
        error: "Contains a NUL character or an unpaired surrogate",
        name: "message_from_recruiter",
      });
    }
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
    assert.deepEqual(await invitations(), []);

    const ok = { candidate: uniqueEmail("ok-candidate"), mentor: uniqueEmail("ok-mentor") };
    const reply = await invite(owner, {
      users: [
        candidate(ok.candidate, { "extra\u0000": "kept\u0000" }),
        candidate(uniqueEmail("nul-candidate"), { name: "C\u0000" }),
        candidate(uniqueEmail("nul-external"), { external_id: "\ud800" }),
        { email: ok.mentor, type: "mentor", "extra\u0000": "kept\u0000" },
        { email: uniqueEmail("nul-mentor"), name: "M\u0000", type: "mentor" },
        { email: uniqueEmail("surrogate-mentor"), name: "M \ud800", type: "merchant" },
      ],
    });
    assert.equal(reply.status, 200);
    const unstorable = "contains a NUL character or an unpaired surrogate";
    assert.deepEqual(reply.body.map((r) => r.result), [
      "Invited",
      `Error: Invalid name: ${unstorable}`,
      `Error: Invalid external_id: ${unstorable}`,
      "Invited",
      `Error: Invalid name: ${unstorable}`,
      `Error: Invalid name: ${unstorable}`,
    ]);
    assert.equal(reply.body[0]["extra\u0000"], "kept\u0000");
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), {
      ...before,
      profiles: before.profiles + 1,
      registrations: before.registrations + 1,
      tokens: before.tokens + 1,
      emails: before.emails + 2,
      credits: before.credits - 1,
    });
    assert.deepEqual(await invitations(), [ok.mentor]);
  },
);

Deno.test("request validation: the documented 422s", opts, async () => {
  const owner = await userToken(SEED.owner);
  const user = { email: uniqueEmail("v"), type: "user" };
  const cases: [unknown, { error: string; name?: string }][] = [
    [{}, { error: "Field is required.", name: "users" }],
    [{ users: [] }, { error: "At least one user is required", name: "users" }],
    [{ users: "x" }, { error: "Must be an array of objects", name: "users" }],
    [{ users: [user], mojito_language_code: "xx" }, {
      error: `Must be one of: ${MOJITO_LANGUAGE_CODES.join(", ")}`,
      name: "mojito_language_code",
    }],
    [{ users: [user], message_from_recruiter: "x".repeat(2001) }, {
      error: "At most 2000 characters",
      name: "message_from_recruiter",
    }],
    [{ users: [user], message_from_recruiter: 5 }, {
      error: "Must be a string",
      name: "message_from_recruiter",
    }],
    [{ users: [user], merchant_id: "nope" }, { error: "Must be a UUID", name: "merchant_id" }],
  ];
  for (const [body, expected] of cases) {
    const reply = await invite(owner, body);
    assert.equal(reply.status, 422, JSON.stringify(body).slice(0, 80));
    assert.deepEqual(reply.body, expected);
  }
  assert.equal(MOJITO_LANGUAGE_CODES.length, 34);
  for (const code of MOJITO_LANGUAGE_CODES) {
    const reply = await invite(owner, { users: [{ email: "x", type: "user" }], mojito_language_code: code });
    assert.equal(reply.status, 200, code);
  }
});

Deno.test(
  "the same new people invited by 10 concurrent requests: one invitation, one registration, one credit, one email each",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const mentor = uniqueEmail("race-mentor");
    const candidate = uniqueEmail("race-candidate");
    // The merchant's row held until all 10 wait at the database, so they really run at once.
    const racers = await startTestServer({ dbPoolSize: 15 });
    const blocker = await sql.reserve();
    let pending: Promise<Awaited<ReturnType<typeof invite>>[]> | undefined;
    try {
      await blocker`begin`;
      await blocker`select 1 from merchants where id = ${fixture.merchantId} for update`;
      pending = Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          callFunction<Row[]>(racers.functionsUrl, FN, {
            token: owner,
            body: {
              users: [
                { email: i % 2 ? mentor.toUpperCase() : mentor, type: "mentor" },
                { email: candidate, type: "candidate", interview_id: fixture.interviewId },
              ],
            },
          })),
      );
      await waitFor("all 10 requests waiting at the database at once", async () => {
        const [{ waiting }] = await sql`select count(*)::int as waiting from pg_stat_activity
          where wait_event_type = 'Lock' and query like '%app.invite_users%'`;
        return waiting === 10;
      });
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    const replies = await pending;
    await racers.close();
    assert.deepEqual(replies.map((r) => r.status), Array(10).fill(200));
    for (const row of [0, 1]) {
      assert.deepEqual(replies.map((r) => r.body[row].result).sort(), [
        "Invited",
        ...Array(9).fill("Skipped"),
      ]);
    }
    assert.equal(new Set(replies.map((r) => r.body[0].invitation_id)).size, 1);
    assert.equal(new Set(replies.map((r) => r.body[1].profile_interview_id)).size, 1);
    assert.equal(await credits(sql, fixture.merchantId), 999);
    assert.deepEqual((await outboxTo(mentor)).map((e) => e.kind), ["role_invitation"]);
    assert.deepEqual((await outboxTo(candidate)).map((e) => e.kind), ["invitation"]);
  },
);
