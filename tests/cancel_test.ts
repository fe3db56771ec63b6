/**
 * POST /registrations/<id>/cancel over real HTTP against the real database: the link then answers 410
 * "cancelled", pending emails are not sent, the credit comes back only when the link was never redeemed
 * (once, however many cancels race), and a cancel racing a redemption settles one way or the other.
 */
import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, credits } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";

const server = await startTestServer();
const sql = server.runtime.sql;
const opts = { sanitizeOps: false, sanitizeResources: false };

async function register(token: string, body: Record<string, unknown>) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", { token, body });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body[0] as { interview_url: string; profile_interview_id: string };
}

const cancel = (token: string, id: string, headers: Record<string, string> = {}) =>
  callFunction(server.functionsUrl, `registrations/${id}/cancel`, { token, headers });
const redeem = (url: string) =>
  callFunction(server.functionsUrl, "interview-token-redeem", { body: { interview_token: tokenOf(url) } });

Deno.test(
  "a never-started registration: link 410 'cancelled', invitation not sent, credit back",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const row = await register(owner, {
      interview_id: fixture.interviewId,
      type: "invitation",
      users: [{ email: "ann@example.com" }],
    });
    assert.equal(await credits(sql, fixture.merchantId), 999);
    const reply = await cancel(owner, row.profile_interview_id);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.status, "cancelled");
    assert.ok(reply.body.cancelled_at);
    assert.equal(reply.body.credit_returned, true);
    assert.equal(reply.body.link_expires_at, null);
    assert.deepEqual(reply.body.emails.map((e: { state: string; error: string }) => [e.state, e.error]), [[
      "cancelled",
      "Registration cancelled",
    ]]);
    assert.equal(await credits(sql, fixture.merchantId), 1000);

    const redeemed = await redeem(row.interview_url);
    assert.deepEqual([redeemed.status, redeemed.body], [410, {
      error: "Interview link cancelled: the registration was cancelled",
      name: "interview_token",
    }]);
    const read = await callFunction(server.functionsUrl, `registrations/${row.profile_interview_id}`, {
      token: owner,
      method: "GET",
    });
    assert.equal(read.body.status, "cancelled");
    assert.equal(
      (await callFunction(server.functionsUrl, "registrations", {
        token: owner,
        method: "GET",
      })).body.data[0].status,
      "cancelled",
    );

    // Again: nothing changes, no second credit.
    const again = await cancel(owner, row.profile_interview_id);
    assert.deepEqual([again.status, again.body.credit_returned, again.body.cancelled_at], [
      200,
      false,
      reply.body.cancelled_at,
    ]);
    assert.equal(await credits(sql, fixture.merchantId), 1000);

    // The candidate can be registered again: a new registration, a new credit.
    const anew = await register(owner, {
      interview_id: fixture.interviewId,
      users: [{ email: "ann@example.com" }],
    });
    assert.notEqual(anew.profile_interview_id, row.profile_interview_id);
    assert.equal(await credits(sql, fixture.merchantId), 999);
    assert.equal((await redeem(anew.interview_url)).status, 200);
  },
);

Deno.test(
  "started keeps its credit and cannot complete; completed is a 409; test registrations spent none",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const started = await register(owner, {
      interview_id: fixture.interviewId,
      users: [{ email: "bo@example.com" }],
    });
    assert.equal((await redeem(started.interview_url)).status, 200);
    const reply = await cancel(owner, started.profile_interview_id);
    assert.deepEqual([reply.status, reply.body.status, reply.body.credit_returned], [
      200,
      "cancelled",
      false,
    ]);
    assert.equal(await credits(sql, fixture.merchantId), 999);
    const complete = await callFunction(server.functionsUrl, "interview-complete", {
      token: LOCAL_SECRET_KEY,
      body: { profile_interview_id: started.profile_interview_id },
    });
    assert.equal(complete.status, 409);

    const done = await register(owner, {
      interview_id: fixture.interviewId,
      users: [{ email: "cy@example.com" }],
    });
    assert.equal((await redeem(done.interview_url)).status, 200);
    await callFunction(server.functionsUrl, "interview-complete", {
      token: LOCAL_SECRET_KEY,
      body: { profile_interview_id: done.profile_interview_id },
    });
    const refused = await cancel(owner, done.profile_interview_id);
    assert.deepEqual([refused.status, refused.body.error], [409, "Registration already completed"]);

    const test = await register(owner, {
      interview_id: fixture.interviewId,
      is_test: true,
      users: [{ email: "dee@example.com" }],
    });
    const before = await credits(sql, fixture.merchantId);
    assert.equal((await cancel(owner, test.profile_interview_id)).body.credit_returned, false);
    assert.equal(await credits(sql, fixture.merchantId), before);
  },
);

Deno.test(
  "another merchant's registration is a 404; the roles registration refuses are refused",
  opts,
  async () => {
    const mine = await createMerchant(sql);
    const other = await createMerchant(sql);
    const row = await register(await userToken(mine.ownerId), {
      interview_id: mine.interviewId,
      users: [{ email: "eve@example.com" }],
    });
    const foreign = await cancel(await userToken(other.ownerId), row.profile_interview_id);
    assert.deepEqual([foreign.status, foreign.body.error], [404, "Registration not found"]);
    assert.equal((await cancel(await userToken(other.ownerId), "nope")).status, 404);
    assert.equal((await cancel(LOCAL_SECRET_KEY, row.profile_interview_id)).body.name, "merchant_id");
    assert.equal((await redeem(row.interview_url)).status, 200, "untouched");
  },
);

Deno.test(
  "20 simultaneous cancels return one credit; cancels racing redemptions settle one way",
  opts,
  async () => {
    const fixture = await createMerchant(sql, { credits: 30 });
    const owner = await userToken(fixture.ownerId);
    const row = await register(owner, {
      interview_id: fixture.interviewId,
      users: [{ email: "fay@example.com" }],
    });
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => cancel(owner, row.profile_interview_id)),
    );
    assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
    assert.equal(replies.filter((r) => r.body.credit_returned).length, 1);
    assert.equal(await credits(sql, fixture.merchantId), 30);

    const rows = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          register(owner, { interview_id: fixture.interviewId, users: [{ email: `race${i}@example.com` }] }),
      ),
    );
    const outcomes = await Promise.all(rows.map(async (r) => {
      const [cancelled, redeemed] = await Promise.all([
        cancel(owner, r.profile_interview_id),
        redeem(r.interview_url),
      ]);
      assert.equal(cancelled.status, 200);
      assert.ok([200, 410].includes(redeemed.status), String(redeemed.status));
      // Whoever went second sees the first: a refund exactly when the link was not redeemed first.
      assert.equal(cancelled.body.credit_returned, redeemed.status === 410);
      return cancelled.body.credit_returned as boolean;
    }));
    assert.equal(await credits(sql, fixture.merchantId), 20 + outcomes.filter(Boolean).length);
  },
);

Deno.test("with an Idempotency-Key, a repeated cancel gets the first answer again", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const row = await register(owner, {
    interview_id: fixture.interviewId,
    users: [{ email: "gus@example.com" }],
  });
  const first = await cancel(owner, row.profile_interview_id, { "Idempotency-Key": "cancel-1" });
  const again = await cancel(owner, row.profile_interview_id, { "Idempotency-Key": "cancel-1" });
  assert.equal(first.body.credit_returned, true);
  assert.deepEqual([again.body, again.headers.get("idempotent-replayed")], [first.body, "true"]);
  assert.equal(await credits(sql, fixture.merchantId), 1000);
});

addEventListener("unload", () => server.close());
