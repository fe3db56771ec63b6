/** invite-users: every type and every result, as the database records them and the emails carry them. */
import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../../supabase/functions/_shared/config.ts";
import { userToken } from "../_support/credentials.ts";
import { uniqueEmail } from "../_support/email.ts";
import { createMerchant, createStaff, credits } from "../_support/fixtures.ts";
import { GLOBEX_COACH, GLOBEX_RECRUITER, inviteUsersSuite } from "./_invite_users.ts";

const { sql, invite, deliveredTo, createAccount, roleAt, openInvitation, outboxTo } =
  await inviteUsersSuite();

Deno.test(
  "every type and every result, each checked in the database and in the delivered email",
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
