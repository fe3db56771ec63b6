/** invite-users: roles: who may grant what, raised but never lowered, and who stands behind an offer. */
import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../../supabase/functions/_shared/config.ts";
import { SEED, userToken } from "../_support/credentials.ts";
import { uniqueEmail } from "../_support/email.ts";
import { createMerchant, createStaff, merchantFootprint } from "../_support/fixtures.ts";
import { inviteUsersSuite } from "./_invite_users.ts";

const { sql, invite, createAccount, roleAt, openInvitation, outboxTo } = await inviteUsersSuite();

Deno.test("a role is raised by a re-invite but never lowered", async () => {
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

Deno.test("privileges: who may grant what", async (t) => {
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
