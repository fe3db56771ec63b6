import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer({ dbPoolSize: 20 });
const { sql } = server.runtime;
const FN = "job-interview-register-users";

Deno.test(
  "the same email registered by 20 parallel requests: one profile, one registration, one credit",
  async () => {
    const fixture = await createMerchant(sql, { credits: 100 });
    const token = await userToken(fixture.ownerId);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        callFunction(server.functionsUrl, FN, {
          token,
          body: {
            interview_id: fixture.interviewId,
            users: [{ email: i % 2 ? "Same@Race.example" : "same@race.example" }],
          },
        })),
    );
    assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
    assert.deepEqual(replies.map((r) => r.body[0].result), Array(20).fill("ok"));
    assert.deepEqual(new Set(replies.map((r) => r.body[0].profile_interview_id)).size, 1);
    const footprint = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual({
      profiles: footprint.profiles,
      registrations: footprint.registrations,
      credits: footprint.credits,
    }, {
      profiles: 1,
      registrations: 1,
      credits: 99,
    });
    // Newest link wins, even among racers: exactly one of the 20 tokens is still live.
    const [{ live }] = await sql`select count(*)::int as live from interview_tokens t
    join profile_interviews pi on pi.id = t.profile_interview_id
    where pi.merchant_id = ${fixture.merchantId} and t.revoked_at is null and t.redeemed_at is null`;
    assert.deepEqual(live, 1);
  },
);

Deno.test(
  "200 parallel single-user requests against 50 credits: exactly 50 ok and 0 credits left",
  async () => {
    const fixture = await createMerchant(sql, { credits: 50 });
    const token = await userToken(fixture.ownerId);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        callFunction(server.functionsUrl, FN, {
          token,
          body: { interview_id: fixture.interviewId, users: [{ email: `racer-${i}@race.example` }] },
        })),
    );
    assert.deepEqual(replies.map((r) => r.status), Array(200).fill(200));
    const results = replies.map((r) => r.body[0].result);
    assert.deepEqual(results.filter((r) => r === "ok").length, 50);
    assert.deepEqual(results.filter((r) => r === "Error: Not enough interview credits").length, 150);
    assert.deepEqual(await credits(sql, fixture.merchantId), 0);
    const footprint = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual([footprint.profiles, footprint.registrations, footprint.tokens], [50, 50, 50]);
  },
);

Deno.test("50 parallel redemptions of one token: exactly one 200, the rest 410", async () => {
  const fixture = await createMerchant(sql);
  const reply = await callFunction(server.functionsUrl, FN, {
    token: await userToken(fixture.ownerId),
    body: { interview_id: fixture.interviewId, users: [{ email: "once@race.example" }] },
  });
  const interviewToken = tokenOf(reply.body[0].interview_url);
  const redemptions = await Promise.all(
    Array.from({ length: 50 }, () =>
      callFunction(server.functionsUrl, "interview-token-redeem", {
        body: { interview_token: interviewToken },
      })),
  );
  const statuses = redemptions.map((r) => r.status).sort();
  assert.deepEqual(statuses.filter((s) => s === 200).length, 1);
  assert.deepEqual(statuses.filter((s) => s === 410).length, 49);
  assert.deepEqual(
    new Set(redemptions.filter((r) => r.status === 410).map((r) => r.body.error)),
    new Set(["Interview token already used"]),
  );
});

Deno.test("parallel batches with overlapping emails never spend a credit twice", async () => {
  const fixture = await createMerchant(sql, { credits: 1000 });
  const token = await userToken(fixture.ownerId);
  const emails = Array.from({ length: 60 }, (_, i) => `overlap-${i}@race.example`);
  // Ten batches of 30, each a different window over the same 60 emails.
  const replies = await Promise.all(
    Array.from({ length: 10 }, (_, b) =>
      callFunction(server.functionsUrl, FN, {
        token,
        body: {
          interview_id: fixture.interviewId,
          users: emails.slice((b * 3) % 30, (b * 3) % 30 + 30).map((email) => ({ email })),
        },
      })),
  );
  for (const r of replies) {
    assert.deepEqual(r.body.every((row: { result: string }) => row.result === "ok"), true);
  }
  const footprint = await merchantFootprint(sql, fixture.merchantId);
  const distinct = new Set(replies.flatMap((r) => r.body.map((row: { email: string }) => row.email))).size;
  assert.deepEqual(footprint.profiles, distinct);
  assert.deepEqual(footprint.registrations, distinct);
  assert.deepEqual(footprint.credits, 1000 - distinct);
});

Deno.test(
  "overlapping batches racing for the last credits: no error, no double spend, nothing for failed rows",
  async () => {
    const fixture = await createMerchant(sql, { credits: 20 });
    const token = await userToken(fixture.ownerId);
    const pool = Array.from({ length: 30 }, (_, i) => `last-${i}@race.example`);
    // 40 batches of 5 over a pool of 30 emails: some take the optimistic path,
    // some the locked one once credits look short, and they share candidates.
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, b) =>
        callFunction(server.functionsUrl, FN, {
          token,
          body: {
            interview_id: fixture.interviewId,
            users: [0, 7, 14, 21, 28].map((k) => ({ email: pool[(b + k) % 30] })).reverse().slice(b % 2),
          },
        })),
    );
    assert.deepEqual(
      replies.map((r) => r.status),
      Array(40).fill(200),
    );
    const rows = replies.flatMap((r) =>
      r.body as { email: string; result: string; profile_interview_id?: string }[]
    );
    assert.deepEqual(
      new Set(rows.map((row) => row.result)),
      new Set(["ok", "Error: Not enough interview credits"]),
    );
    const registered = await sql`select p.email, pi.id::text from profile_interviews pi
    join candidate_profiles p on p.id = pi.profile_id where pi.merchant_id = ${fixture.merchantId}`;
    const footprint = await merchantFootprint(sql, fixture.merchantId);
    assert.equal(footprint.credits, 0);
    assert.equal(footprint.registrations, 20, "one registration per credit spent");
    assert.equal(footprint.profiles, 20, "a candidate that never got a credit has no profile");
    const registrationOf = new Map(registered.map((r) => [r.email, r.id]));
    for (const row of rows.filter((r) => r.result === "ok")) {
      assert.equal(row.profile_interview_id, registrationOf.get(row.email));
    }
  },
);
