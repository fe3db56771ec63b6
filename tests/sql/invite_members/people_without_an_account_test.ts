import assert from "node:assert/strict";
import { createMerchant, createStaff } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { inviteMembers, openInvitation } from "./_invite_members.ts";

const db = fileDatabase();

Deno.test(
  "invite_members: a person without an account gets an open invitation, one live link and one email",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const [row] = await inviteMembers(tx, merchant.ownerId, merchant.merchantId, [
      { email: "New@Example.com", name: "New", role: "merchant" },
    ]);
    assert.ok("result" in row, JSON.stringify(row));
    assert.equal(row.result, "Invited");
    assert.equal(row.profile_id, null);
    const invitation = await openInvitation(tx, merchant.merchantId, "new@example.com");
    assert.equal(invitation?.id, row.invitation_id);
    assert.equal(invitation?.role, "merchant");
    assert.equal(invitation?.invited_by, merchant.ownerId);
    assert.equal(invitation?.links.length, 1);
    assert.deepEqual(invitation?.emails, [{ status: "pending", jti: invitation?.links[0] }]);
  }),
);

Deno.test(
  "invite_members: an open invitation with a live link is skipped; p_force sends it again with a new link",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const person = [{ email: "twice@example.com", role: "mentor" }];
    await inviteMembers(tx, merchant.ownerId, merchant.merchantId, person);
    const before = await openInvitation(tx, merchant.merchantId, "twice@example.com");

    const [skipped] = await inviteMembers(tx, merchant.ownerId, merchant.merchantId, person);
    assert.ok("result" in skipped && skipped.result === "Skipped", JSON.stringify(skipped));
    assert.deepEqual(await openInvitation(tx, merchant.merchantId, "twice@example.com"), before);

    const [forced] = await inviteMembers(tx, merchant.ownerId, merchant.merchantId, person, { force: true });
    assert.ok("result" in forced && forced.result === "Invited", JSON.stringify(forced));
    const after = await openInvitation(tx, merchant.merchantId, "twice@example.com");
    assert.equal(after?.id, before?.id, "the same invitation, sent again");
    assert.equal(after?.links.length, 1);
    assert.notEqual(after?.links[0], before?.links[0], "newest link wins");
    assert.deepEqual(after?.emails.map((e) => e.status).sort(), ["cancelled", "pending"]);
  }),
);

Deno.test(
  "invite_members: sending an open invitation again never lowers the role it offers",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    await inviteMembers(tx, merchant.ownerId, merchant.merchantId, [{
      email: "up@example.com",
      role: "merchant",
    }]);
    await inviteMembers(tx, merchant.ownerId, merchant.merchantId, [{
      email: "up@example.com",
      role: "mentor",
    }], {
      force: true,
    });
    assert.equal((await openInvitation(tx, merchant.merchantId, "up@example.com"))?.role, "merchant");
  }),
);

Deno.test(
  "invite_members: staff cannot grant a role above their own, and only owners grant merchant_owner",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const staff = await createStaff(tx, merchant.merchantId, "merchant");
    const rows = await inviteMembers(tx, staff, merchant.merchantId, [
      { email: "owner@example.com", role: "merchant_owner" },
      { email: "peer@example.com", role: "merchant" },
    ]);
    assert.deepEqual(rows[0], { i: 0, error: "Only a merchant owner or an admin can grant merchant_owner" });
    assert.ok("result" in rows[1] && rows[1].result === "Invited", "the other row goes ahead");
    assert.equal(
      await openInvitation(tx, merchant.merchantId, "owner@example.com"),
      null,
      "a failed row writes nothing",
    );
  }),
);
