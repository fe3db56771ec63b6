/**
 * dry_run: true over real HTTP against the real database: the answer is the real call's (each dry run
 * here is followed by the same request for real, and the two are compared), and nothing is written: no
 * row, no credit, no email, no key.
 */
import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";

const server = await startTestServer();
const sql = server.runtime.sql;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** Everything of a merchant a request could write, and the keys it could store. */
async function everything(merchantId: string) {
  const [extra] = await sql`select
      (select count(*)::int from merchant_invitations where merchant_id = ${merchantId}) as invitations,
      (select count(*)::int from idempotency_keys where merchant_id = ${merchantId}) as keys`;
  return { ...await merchantFootprint(sql, merchantId), ...extra };
}

/** A row of a real answer as a dry run shows it: no link, no id it would have created. */
const withoutIds = (row: Record<string, unknown>) => {
  const { interview_url: _url, profile_interview_id: _id, ...rest } = row;
  return rest;
};

Deno.test(
  "register-users: reuse, new, out of credits, duplicate and invalid rows, as the real call answers",
  opts,
  async () => {
    const fixture = await createMerchant(sql, { credits: 1 });
    const owner = await userToken(fixture.ownerId);
    await sql`update merchants set interview_credits = 2 where id = ${fixture.merchantId}`;
    const existing = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: owner,
      body: { interview_id: fixture.interviewId, users: [{ email: "ann@example.com" }] },
    });
    assert.equal(existing.body[0].result, "ok");
    const body = {
      interview_id: fixture.interviewId,
      type: "invitation",
      users: [
        { email: "ann@example.com", note: "reused" },
        { email: "bo@example.com" },
        { email: "cy@example.com" },
        { email: "BO@example.com" },
        { email: "not-an-email" },
      ],
    };
    const before = await everything(fixture.merchantId);
    const dry = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: owner,
      body: { ...body, dry_run: true },
      headers: { "Idempotency-Key": "dry-1" },
    });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(await everything(fixture.merchantId), before, "nothing written, no key stored");

    const real = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: owner,
      body,
    });
    assert.deepEqual(dry.body, real.body.map(withoutIds));
    assert.deepEqual(real.body.map((r: { result: string }) => r.result), [
      "ok",
      "ok",
      "Error: Not enough interview credits",
      "Error: Duplicate email in request",
      "Error: Invalid email",
    ]);
    assert.equal((await everything(fixture.merchantId)).credits, 0, "the real call spent the credit");
  },
);

Deno.test(
  "a dry run's 4xx is the real call's: an unknown interview, micro1's all or nothing",
  opts,
  async () => {
    const fixture = await createMerchant(sql, { credits: 1 });
    const before = await everything(fixture.merchantId);
    for (
      const [name, body] of [
        ["job-interview-register-users", {
          merchant_id: fixture.merchantId,
          interview_id: crypto.randomUUID(),
          users: [{ email: "a@example.com" }],
        }],
        ["interview/invite", {
          merchant_id: fixture.merchantId,
          interview_id: fixture.interviewId,
          candidates: [{ name: "A", email: "a@example.com" }, { name: "B", email: "b@example.com" }],
        }],
      ] as const
    ) {
      const dry = await callFunction(server.functionsUrl, name, {
        token: LOCAL_SECRET_KEY,
        body: { ...body, dry_run: true },
      });
      assert.deepEqual(await everything(fixture.merchantId), before);
      const real = await callFunction(server.functionsUrl, name, { token: LOCAL_SECRET_KEY, body });
      assert.ok(real.status >= 400, `${name}: ${real.status}`);
      assert.deepEqual([dry.status, dry.body], [real.status, real.body], name);
    }
    assert.deepEqual(await everything(fixture.merchantId), before);
  },
);

Deno.test("micro1's invite: the dry run names who would be invited and sends nothing", opts, async () => {
  const fixture = await createMerchant(sql);
  const body = {
    merchant_id: fixture.merchantId,
    interview_id: fixture.interviewId,
    candidates: [{ name: "Dee", email: "dee@example.com" }],
  };
  const before = await everything(fixture.merchantId);
  const dry = await callFunction(server.functionsUrl, "interview/invite", {
    token: LOCAL_SECRET_KEY,
    body: { ...body, dry_run: true },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(dry.body.data.invitations, [{ candidate_email: "dee@example.com" }]);
  assert.deepEqual(await everything(fixture.merchantId), before);
  const real = await callFunction(server.functionsUrl, "interview/invite", { token: LOCAL_SECRET_KEY, body });
  assert.deepEqual(
    real.body.data.invitations.map((i: { candidate_email: string }) => ({
      candidate_email: i.candidate_email,
    })),
    dry.body.data.invitations,
  );
});

Deno.test(
  "invite-users: members and candidates, as the real call answers, nothing written",
  opts,
  async () => {
    const fixture = await createMerchant(sql, { credits: 1 });
    const owner = await userToken(fixture.ownerId);
    const body = {
      users: [
        { email: "eve@example.com", type: "mentor" },
        { email: "fay@example.com", type: "candidate", interview_id: fixture.interviewId },
        { email: "gus@example.com", type: "candidate", interview_id: fixture.interviewId },
        { email: "hal@example.com", type: "candidate", interview_id: crypto.randomUUID() },
        { email: "eve@example.com", type: "user" },
      ],
    };
    const before = await everything(fixture.merchantId);
    const dry = await callFunction(server.functionsUrl, "invite-users", {
      token: owner,
      body: { ...body, dry_run: "true" },
    });
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.deepEqual(await everything(fixture.merchantId), before);
    const real = await callFunction(server.functionsUrl, "invite-users", { token: owner, body });
    const idsAsNull = (row: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(row).map((
          [k, v],
        ) => [k, ["profile_id", "profile_interview_id", "invitation_id"].includes(k) ? null : v]),
      );
    assert.deepEqual(dry.body, real.body.map(idsAsNull));
    assert.deepEqual(real.body.map((r: { result: string }) => r.result), [
      "Invited",
      "Invited",
      "Error: Not enough interview credits",
      "Error: Interview not found",
      "Error: Duplicate email in request",
    ]);
    assert.notDeepEqual(await everything(fixture.merchantId), before, "the real call wrote");
  },
);

addEventListener("unload", () => server.close());
