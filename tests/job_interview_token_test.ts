/**
 * JobMojito's POST /job-interview-token (generate_interview_url) over real HTTP against the real
 * database: a new one-time URL for a candidate and an interview as a bare JSON string, the old link
 * revoked, hide_menu's default, other types refused, another merchant's candidate not found.
 */
import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";

const server = await startTestServer();
const sql = server.runtime.sql;
const opts = { sanitizeOps: false, sanitizeResources: false };

async function registered(fixture: { interviewId: string; ownerId: string }, email: string) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: await userToken(fixture.ownerId),
    body: { interview_id: fixture.interviewId, users: [{ email }] },
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const [{ profile_id }] = await sql`select profile_id from profile_interviews
    where id = ${reply.body[0].profile_interview_id}`;
  return { url: reply.body[0].interview_url as string, profileId: profile_id as string };
}

const redeem = (url: string) =>
  callFunction(server.functionsUrl, "interview-token-redeem", { body: { interview_token: tokenOf(url) } });

Deno.test(
  "interview-for-profile: a new URL as a bare JSON string, the old link revoked, no credit",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const { url: oldUrl, profileId } = await registered(fixture, "ann@example.com");
    const before = await merchantFootprint(sql, fixture.merchantId);
    const reply = await callFunction(server.functionsUrl, "job-interview-token", {
      token: owner,
      body: {
        type: "interview-for-profile",
        interview_id: fixture.interviewId,
        interview_profile_id: profileId,
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(typeof reply.body, "string");
    assert.equal(reply.headers.get("content-type"), "application/json");
    const url = new URL(reply.body);
    assert.equal(url.pathname, `/interview/take/${fixture.interviewId}/`);
    assert.equal(url.searchParams.get("view_hm"), "true", "the menu is hidden by default");
    const after = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual(after, { ...before, tokens: before.tokens + 1 }, "the same registration, no credit");

    const old = await redeem(oldUrl);
    assert.deepEqual([old.status, old.body.error], [410, "Interview token revoked: a newer link was issued"]);
    assert.equal((await redeem(reply.body)).status, 200);
  },
);

Deno.test(
  'hide_menu hides unless "false"; a candidate with no open registration gets one for a credit',
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const { url, profileId } = await registered(fixture, "bo@example.com");
    const ask = (extra: Record<string, unknown>) =>
      callFunction(server.functionsUrl, "job-interview-token", {
        token: LOCAL_SECRET_KEY,
        body: {
          type: "interview-for-profile",
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          interview_profile_id: profileId,
          ...extra,
        },
      });
    for (
      const [hideMenu, hidden] of [["false", false], ["FALSE", false], [false, false], ["true", true], [
        "no",
        true,
      ], [
        null,
        true,
      ], [true, true]] as const
    ) {
      const reply = await ask({ hide_menu: hideMenu });
      assert.equal(reply.status, 200);
      assert.equal(
        new URL(reply.body).searchParams.get("view_hm") === "true",
        hidden,
        JSON.stringify(hideMenu),
      );
    }

    // Started and completed: the next URL is a new registration, which costs a credit.
    assert.equal((await redeem(url)).status, 410, "each new URL revoked the one before");
    const latest = await ask({});
    assert.equal((await redeem(latest.body)).status, 200);
    const [{ id }] = await sql`select id from profile_interviews where profile_id = ${profileId}`;
    await callFunction(server.functionsUrl, "interview-complete", {
      token: LOCAL_SECRET_KEY,
      body: { profile_interview_id: id },
    });
    const creditsBefore = await credits(sql, fixture.merchantId);
    const fresh = await ask({});
    assert.equal(fresh.status, 200);
    assert.equal(await credits(sql, fixture.merchantId), creditsBefore - 1);
    assert.equal((await redeem(fresh.body)).status, 200);
  },
);

Deno.test(
  "other types, missing ids and another merchant's candidate: a 422 naming the field",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const other = await createMerchant(sql);
    const { profileId } = await registered(other, "cy@example.com");
    const owner = await userToken(fixture.ownerId);
    const before = await merchantFootprint(sql, fixture.merchantId);
    for (
      const [body, name, error] of [
        [{ type: "results-for-profile", interview_profile_id: profileId }, "type", undefined],
        [{ type: "interview-result-candidate" }, "type", undefined],
        [{ type: "bogus" }, "type", undefined],
        [{}, "type", "Field is required."],
        [
          { type: "interview-for-profile", interview_profile_id: profileId },
          "interview_id",
          "Field is required.",
        ],
        [
          { type: "interview-for-profile", interview_id: fixture.interviewId },
          "interview_profile_id",
          undefined,
        ],
        [
          {
            type: "interview-for-profile",
            interview_id: fixture.interviewId,
            interview_profile_id: profileId,
          },
          "interview_profile_id",
          "Candidate not found",
        ],
        [
          { type: "interview-for-profile", interview_id: other.interviewId, interview_profile_id: profileId },
          "interview_id",
          "Interview not found",
        ],
      ] as const
    ) {
      const reply = await callFunction(server.functionsUrl, "job-interview-token", { token: owner, body });
      assert.deepEqual([reply.status, reply.body.name], [422, name], JSON.stringify(body));
      if (error) assert.equal(reply.body.error, error);
    }
    assert.match(
      (await callFunction(server.functionsUrl, "job-interview-token", {
        token: owner,
        body: { type: "results-for-profile" },
      })).body.error,
      /not supported yet/,
    );
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  },
);

Deno.test("with an Idempotency-Key, a repeat gets the same URL and mints nothing", opts, async () => {
  const fixture = await createMerchant(sql);
  const { profileId } = await registered(fixture, "dee@example.com");
  const send = () =>
    callFunction(server.functionsUrl, "job-interview-token", {
      token: LOCAL_SECRET_KEY,
      headers: { "Idempotency-Key": "link-1" },
      body: {
        type: "interview-for-profile",
        merchant_id: fixture.merchantId,
        interview_id: fixture.interviewId,
        interview_profile_id: profileId,
      },
    });
  const first = await send();
  const before = await merchantFootprint(sql, fixture.merchantId);
  const again = await send();
  assert.deepEqual([again.body, again.headers.get("idempotent-replayed")], [first.body, "true"]);
  assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  assert.equal((await redeem(again.body)).status, 200);
});

addEventListener("unload", () => server.close());
