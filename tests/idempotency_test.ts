/**
 * Idempotency-Key over real HTTP against the real database: a repeat is answered with the first
 * response and changes nothing; another body with the same key is refused; 20 simultaneous requests
 * with one key run once (one credit, one link, one email); keys expire and are cleaned up.
 */
import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";

const server = await startTestServer();
const sql = server.runtime.sql;
const opts = { sanitizeOps: false, sanitizeResources: false };

function post(name: string, token: string, body: unknown, key?: string) {
  return callFunction(server.functionsUrl, name, {
    token: token || undefined,
    body,
    headers: key === undefined ? {} : { "Idempotency-Key": key },
  });
}

Deno.test(
  "register-users: a repeat gets the first answer, Idempotent-Replayed, and changes nothing",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const body = {
      interview_id: fixture.interviewId,
      type: "invitation",
      hide_menu: true,
      users: [{ email: "ann@example.com", name: "Ann", extra: 1 }, { email: "bad" }],
    };
    const first = await post("job-interview-register-users", owner, body, '"order-1"');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.headers.get("idempotent-replayed"), null);
    const after = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual([after.registrations, after.tokens, after.emails, after.credits], [1, 1, 1, 999]);

    // The key bare or as a Structured Field string, the body reformatted: the same request.
    for (const key of ["order-1", '"order-1"']) {
      const repeat = await callFunction(server.functionsUrl, "job-interview-register-users", {
        token: owner,
        rawBody: JSON.stringify(body, null, 2),
        headers: { "Idempotency-Key": key },
      });
      assert.equal(repeat.status, 200);
      assert.equal(repeat.headers.get("idempotent-replayed"), "true");
      assert.deepEqual(repeat.body, first.body, "the same links, byte for byte");
    }
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), after);

    // Without a key the same body runs again: a new link.
    const unkeyed = await post("job-interview-register-users", owner, body);
    assert.notEqual(unkeyed.body[0].interview_url, first.body[0].interview_url);
  },
);

Deno.test(
  "the same key with another body, or on another endpoint, is a 422 and writes nothing",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const body = { interview_id: fixture.interviewId, users: [{ email: "bo@example.com" }] };
    assert.equal((await post("job-interview-register-users", owner, body, "k-1")).status, 200);
    const before = await merchantFootprint(sql, fixture.merchantId);
    const other = await post("job-interview-register-users", owner, {
      ...body,
      users: [{ email: "cy@example.com" }],
    }, "k-1");
    assert.deepEqual([other.status, other.body], [422, {
      error: "Idempotency-Key already used for a different request",
      name: "Idempotency-Key",
    }]);
    const elsewhere = await post("invite-users", owner, {
      users: [{ email: "bo@example.com", type: "candidate", interview_id: fixture.interviewId }],
    }, "k-1");
    assert.equal(elsewhere.status, 422);
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);

    for (const key of ["", "é", "x".repeat(256), '"a"b"']) {
      const reply = await post("job-interview-register-users", owner, body, key);
      assert.deepEqual([reply.status, reply.body.name], [422, "Idempotency-Key"], JSON.stringify(key));
    }
  },
);

Deno.test("keys are per merchant; a request that failed stored nothing and runs again", opts, async () => {
  const one = await createMerchant(sql);
  const two = await createMerchant(sql);
  for (const fixture of [one, two]) {
    const reply = await post("job-interview-register-users", await userToken(fixture.ownerId), {
      interview_id: fixture.interviewId,
      users: [{ email: "dee@example.com" }],
    }, "shared-key");
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get("idempotent-replayed"), null);
  }
  // Failing in the database (an unknown interview) rolls back the key with everything else.
  const owner = await userToken(one.ownerId);
  const bad = { interview_id: crypto.randomUUID(), users: [{ email: "dee@example.com" }] };
  for (let i = 0; i < 2; i++) {
    const reply = await post("job-interview-register-users", owner, bad, "failing-key");
    assert.deepEqual([reply.status, reply.headers.get("idempotent-replayed")], [422, null]);
  }
  const stored =
    await sql`select key from idempotency_keys where merchant_id = ${one.merchantId} order by key`;
  assert.deepEqual(stored.map((r) => r.key), ["shared-key"]);
});

Deno.test("a key past its expiry runs anew, and claims clean expired keys up", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const body = { interview_id: fixture.interviewId, users: [{ email: "eve@example.com" }] };
  const first = await post("job-interview-register-users", owner, body, "old-key");
  const [row] = await sql`select expires_at - created_at as ttl from idempotency_keys
    where merchant_id = ${fixture.merchantId} and key = 'old-key'`;
  assert.equal(row.ttl, "1 day", "kept for IDEMPOTENCY_KEY_TTL_SECONDS (a day by default)");
  await sql`update idempotency_keys set created_at = now() - interval '2 days', expires_at = now() - interval '1 day'
    where merchant_id = ${fixture.merchantId}`;
  await sql`insert into idempotency_keys (merchant_id, key, fingerprint, response, created_at, expires_at)
    values (${fixture.merchantId}, 'stale', sha256('x'), '{}', now() - interval '3 days', now() - interval '2 days')`;
  const again = await post("job-interview-register-users", owner, body, "old-key");
  assert.equal(again.headers.get("idempotent-replayed"), null);
  assert.notEqual(again.body[0].interview_url, first.body[0].interview_url);
  const keys = await sql`select key from idempotency_keys where merchant_id = ${fixture.merchantId}`;
  assert.deepEqual(keys.map((r) => r.key), ["old-key"], "the stale key was deleted");
});

Deno.test("20 simultaneous requests with one key: one execution, one credit, one email", opts, async () => {
  const fixture = await createMerchant(sql, { credits: 5 });
  const owner = await userToken(fixture.ownerId);
  const body = {
    interview_id: fixture.interviewId,
    type: "invitation",
    users: [{ email: "race@example.com" }],
  };
  const replies = await Promise.all(
    Array.from({ length: 20 }, () => post("job-interview-register-users", owner, body, "race-key")),
  );
  assert.deepEqual(replies.map((r) => r.status), Array(20).fill(200));
  assert.equal(replies.filter((r) => r.headers.get("idempotent-replayed") === "true").length, 19);
  for (const reply of replies) assert.deepEqual(reply.body, replies[0].body);
  const footprint = await merchantFootprint(sql, fixture.merchantId);
  assert.deepEqual([footprint.registrations, footprint.tokens, footprint.emails], [1, 1, 1]);
  assert.equal(await credits(sql, fixture.merchantId), 4);
});

Deno.test("invite-users and micro1's invite replay too, failures included", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const invite = {
    users: [
      { email: "fay@example.com", type: "candidate", interview_id: fixture.interviewId },
      { email: "gus@example.com", type: "mentor" },
    ],
  };
  const first = await post("invite-users", owner, invite, "inv-1");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const before = await merchantFootprint(sql, fixture.merchantId);
  const [{ count: invitations }] = await sql`select count(*)::int from merchant_invitations
    where merchant_id = ${fixture.merchantId}`;
  const repeat = await post("invite-users", owner, invite, "inv-1");
  assert.deepEqual([repeat.status, repeat.headers.get("idempotent-replayed"), repeat.body], [
    200,
    "true",
    first.body,
  ]);
  assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  const [{ count: after }] = await sql`select count(*)::int from merchant_invitations
    where merchant_id = ${fixture.merchantId}`;
  assert.equal(after, invitations);

  const micro1 = {
    merchant_id: fixture.merchantId,
    interview_id: fixture.interviewId,
    candidates: [{ name: "Hal", email: "hal@example.com" }],
  };
  const invited = await post("interview/invite", LOCAL_SECRET_KEY, micro1, "m-1");
  assert.equal(invited.status, 200, JSON.stringify(invited.body));
  const replayed = await post("interview/invite", LOCAL_SECRET_KEY, micro1, "m-1");
  assert.deepEqual([replayed.headers.get("idempotent-replayed"), replayed.body], ["true", invited.body]);

  // micro1's all-or-nothing refusal of a bad row is an answer too: the repeat gets it again, replayed.
  const refused = { ...micro1, candidates: [{ name: "Ivy", email: "not-an-email" }] };
  const no = await post("interview/invite", LOCAL_SECRET_KEY, refused, "m-2");
  const noAgain = await post("interview/invite", LOCAL_SECRET_KEY, refused, "m-2");
  assert.equal(no.status, 400);
  assert.deepEqual([noAgain.status, noAgain.headers.get("idempotent-replayed"), noAgain.body], [
    400,
    "true",
    no.body,
  ]);
});

Deno.test(
  "interview-token-redeem: a retry with the key gets the first answer, not 'already used'",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const [row] = (await post("job-interview-register-users", await userToken(fixture.ownerId), {
      interview_id: fixture.interviewId,
      users: [{ email: "ivy@example.com" }, { email: "jo@example.com" }],
    })).body;
    const interview_token = new URL(row.interview_url).searchParams.get("interview_token");
    const redeem = (key?: string) => post("interview-token-redeem", "", { interview_token }, key);
    const first = await redeem("redeem-1");
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await Promise.all([redeem("redeem-1"), redeem("redeem-1")]);
    for (const reply of again) {
      assert.deepEqual([reply.status, reply.headers.get("idempotent-replayed"), reply.body], [
        200,
        "true",
        first.body,
      ]);
    }
    assert.equal((await redeem()).status, 410, "without the key: already used");
    assert.equal((await redeem("redeem-2")).status, 410, "a new key runs, and the link is spent");
    const [, other] = (await post("job-interview-register-users", await userToken(fixture.ownerId), {
      interview_id: fixture.interviewId,
      users: [{ email: "ivy@example.com" }, { email: "jo@example.com" }],
    })).body;
    const otherToken = new URL(other.interview_url).searchParams.get("interview_token");
    const reused = await post("interview-token-redeem", "", { interview_token: otherToken }, "redeem-1");
    assert.deepEqual([reused.status, reused.body.name], [422, "Idempotency-Key"]);
  },
);

Deno.test(
  "the OpenAPI document names Idempotency-Key and Idempotent-Replayed on every endpoint that takes them",
  opts,
  async () => {
    const doc = (await callFunction(server.functionsUrl, "openapi", { method: "GET" })).body;
    for (
      const path of [
        "/job-interview-register-users",
        "/invite-users",
        "/interview/invite",
        "/job-interview-token",
        "/interview-token-redeem",
        "/registrations/{id}/cancel",
      ]
    ) {
      const operation = doc.paths[path].post;
      assert.ok(
        operation.parameters?.some((p: { name: string; in: string }) =>
          p.name === "Idempotency-Key" && p.in === "header"
        ),
        path,
      );
      assert.ok(operation.responses[200].headers["Idempotent-Replayed"], path);
    }
    assert.equal(doc.paths["/api-keys"].post.parameters, undefined, "not where it is not taken");
  },
);

addEventListener("unload", () => server.close());
