/** invite-users: open invitations invited again: skipped, or sent again with only the newest link working. */
import assert from "node:assert/strict";
import { SEED, userToken } from "../_support/credentials.ts";
import { uniqueEmail } from "../_support/email.ts";
import { createMerchant, credits } from "../_support/fixtures.ts";
import { inviteUsersSuite, PENDING_INVITATION } from "./_invite_users.ts";

const { sql, invite, deliveredTo, openInvitation, outboxTo } = await inviteUsersSuite();

Deno.test(
  "force_invite sends a still-pending invitation again: exactly one more email, and only the newest link works",
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

Deno.test("an expired pending invitation is sent again without force_invite", async () => {
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

Deno.test("the seeded pending invitation is Skipped", async () => {
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
