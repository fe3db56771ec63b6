/** invite-users: concurrent requests inviting the same people. */
import assert from "node:assert/strict";
import { callFunction } from "../_support/http.ts";
import { startTestServer } from "../_support/server.ts";
import { userToken } from "../_support/credentials.ts";
import { uniqueEmail, waitFor } from "../_support/email.ts";
import { createMerchant, credits } from "../_support/fixtures.ts";
import { FN, inviteUsersSuite, type Row } from "./_invite_users.ts";

const { sql, invite, outboxTo } = await inviteUsersSuite();

Deno.test(
  "the same new people invited by 10 concurrent requests: one invitation, one registration, one credit, one email each",
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
