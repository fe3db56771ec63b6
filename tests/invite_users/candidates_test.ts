/** invite-users: candidate rows beside member rows: duplicates, and rows that fail alone. */
import assert from "node:assert/strict";
import { userToken } from "../_support/credentials.ts";
import { uniqueEmail } from "../_support/email.ts";
import {
  createInterview,
  createMerchant,
  createPosition,
  createStaff,
  merchantFootprint,
} from "../_support/fixtures.ts";
import { inviteUsersSuite } from "./_invite_users.ts";

const { sql, invite } = await inviteUsersSuite();

Deno.test(
  "a candidate named twice for one interview, once through a position of it, is a duplicate like any other",
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

Deno.test("a mixed batch: failing rows write nothing, the other rows all succeed", async () => {
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
