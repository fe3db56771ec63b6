import assert from "node:assert/strict";
import { createMerchant, createStaff } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { inviteMembers, openInvitation, roleOf } from "./_invite_members.ts";

const db = fileDatabase();

async function account(tx: Parameters<typeof roleOf>[0], email: string): Promise<string> {
  const [{ id }] = await tx<
    { id: string }[]
  >`insert into accounts (id, email) values (gen_random_uuid(), ${email})
    returning id`;
  return id;
}

Deno.test(
  "invite_members: a person with an account gets the role at once, this merchant as home, and a notice",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const id = await account(tx, "Known@example.com");
    const [row] = await inviteMembers(tx, null, merchant.merchantId, [{
      email: "known@EXAMPLE.com",
      role: "mentor",
    }]);
    assert.deepEqual(row, { i: 0, result: "Activated", profile_id: id, invitation_id: null });
    assert.equal(await roleOf(tx, id, merchant.merchantId), "mentor");
    const [{ home_merchant_id }] = await tx`select home_merchant_id from accounts where id = ${id}`;
    assert.equal(home_merchant_id, merchant.merchantId);
    const notices = await tx`select kind, payload ->> 'role' as role from email_outbox
      where merchant_id = ${merchant.merchantId} and to_email = 'Known@example.com'`;
    assert.deepEqual(notices.map((n) => ({ ...n })), [{ kind: "role_granted", role: "mentor" }]);
  }),
);

Deno.test(
  "invite_members: a role is never lowered: a member who has it or more is skipped",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const staff = await createStaff(tx, merchant.merchantId, "merchant");
    const [row] = await inviteMembers(tx, merchant.ownerId, merchant.merchantId, [
      { email: (await tx`select email from accounts where id = ${staff}`)[0].email, role: "mentor" },
    ]);
    assert.ok("result" in row && row.result === "Skipped", JSON.stringify(row));
    assert.equal(await roleOf(tx, staff, merchant.merchantId), "merchant");
  }),
);

Deno.test(
  "invite_members: a member of another merchant's team is SubMerchantAdded, and keeps their home",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const other = await createMerchant(tx);
    const staff = await createStaff(tx, other.merchantId, "merchant_selection");
    const [{ email }] = await tx`select email from accounts where id = ${staff}`;
    const [row] = await inviteMembers(tx, null, merchant.merchantId, [{ email, role: "merchant" }]);
    assert.ok("result" in row && row.result === "SubMerchantAdded", JSON.stringify(row));
    const [{ home_merchant_id }] = await tx`select home_merchant_id from accounts where id = ${staff}`;
    assert.equal(home_merchant_id, other.merchantId);
  }),
);

Deno.test(
  "invite_members: granting a role at least as high as an open invitation's revokes that invitation",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    await inviteMembers(tx, null, merchant.merchantId, [{ email: "late@example.com", role: "mentor" }]);
    const invitation = await openInvitation(tx, merchant.merchantId, "late@example.com");
    const id = await account(tx, "late@example.com");

    const [row] = await inviteMembers(tx, null, merchant.merchantId, [{
      email: "late@example.com",
      role: "merchant",
    }]);
    assert.ok("result" in row && row.result === "Activated", JSON.stringify(row));
    assert.equal(await roleOf(tx, id, merchant.merchantId), "merchant");
    assert.equal(await openInvitation(tx, merchant.merchantId, "late@example.com"), null);
    const [{ status }] = await tx`select status from email_outbox where invitation_id = ${invitation!.id}`;
    assert.equal(status, "cancelled");
  }),
);
