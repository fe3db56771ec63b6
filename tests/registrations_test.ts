/**
 * GET /registrations and /registrations/<id> over real HTTP against the real database: every field,
 * every filter, pagination in a stable order, the state of each email, and who may see what (a
 * merchant its own and its sub-merchants' registrations, never another's).
 */
import assert from "node:assert/strict";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, createPosition, createStaff } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { ListRegistrationsQuery } from "../supabase/functions/_shared/registrations/schemas.ts";

const server = await startTestServer();
const sql = server.runtime.sql;
const opts = { sanitizeOps: false, sanitizeResources: false };

async function register(token: string, body: Record<string, unknown>) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", { token, body });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body as { result: string; interview_url: string; profile_interview_id: string }[];
}

function read(token: string, path = "", query: Record<string, string> = {}) {
  const search = new URLSearchParams(query).toString();
  return callFunction(server.functionsUrl, `registrations${path}${search ? `?${search}` : ""}`, {
    token,
    method: "GET",
  });
}

Deno.test(
  "one registration: candidate, interview, status, timestamps, link expiry and emails",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const [row] = await register(owner, {
      interview_id: fixture.interviewId,
      type: "invitation",
      is_test: true,
      users: [{ name: "Ann", email: "Ann@Example.com", external_id: "ext-1" }],
    });
    const reply = await read(owner, `/${row.profile_interview_id}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const registration = reply.body;
    assert.equal(registration.id, row.profile_interview_id);
    assert.equal(registration.merchant_id, fixture.merchantId);
    assert.deepEqual(registration.candidate, { name: "Ann", email: "Ann@Example.com", external_id: "ext-1" });
    assert.equal(registration.interview_id, fixture.interviewId);
    assert.equal(registration.interview_name, "Fixture interview");
    assert.equal(registration.position_id, null);
    assert.equal(registration.status, "registered");
    assert.equal(registration.is_test, true);
    assert.equal(registration.started_at, null);
    const [token] = await sql<{ expires_at: Date }[]>`
    select expires_at from interview_tokens where profile_interview_id = ${row.profile_interview_id}`;
    assert.equal(new Date(registration.link_expires_at).getTime(), token.expires_at.getTime());
    assert.equal(registration.emails.length, 1);
    assert.equal(registration.emails[0].kind, "invitation");
    assert.equal(registration.emails[0].state, "queued");
    assert.equal(registration.emails[0].to, "Ann@Example.com");

    // The email fails for good; the link is redeemed, then the interview completed.
    await sql`update email_outbox set status = 'failed', last_error = '550 mailbox unavailable'
    where profile_interview_id = ${row.profile_interview_id}`;
    const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(row.interview_url) },
    });
    assert.equal(redeemed.status, 200);
    const started = (await read(owner, `/${row.profile_interview_id}`)).body;
    assert.equal(started.status, "started");
    assert.ok(started.started_at);
    assert.equal(started.link_expires_at, null);
    assert.deepEqual([started.emails[0].state, started.emails[0].error], [
      "failed",
      "550 mailbox unavailable",
    ]);
    const completed = await callFunction(server.functionsUrl, "interview-complete", {
      token: LOCAL_SECRET_KEY,
      body: { profile_interview_id: row.profile_interview_id },
    });
    assert.equal(completed.status, 200);
    const done = (await read(owner, `/${row.profile_interview_id}`)).body;
    assert.equal(done.status, "completed");
    assert.ok(done.completed_at);
  },
);

Deno.test("a link past its expiry and never redeemed is 'expired'", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const [row] = await register(owner, {
    interview_id: fixture.interviewId,
    users: [{ email: "old@example.com" }],
  });
  await sql`update interview_tokens set issued_at = now() - interval '2 days', expires_at = now() - interval '1 day'
    where profile_interview_id = ${row.profile_interview_id}`;
  assert.equal((await read(owner, `/${row.profile_interview_id}`)).body.status, "expired");
  const expired = await read(owner, "", { status: "expired" });
  assert.deepEqual(expired.body.data.map((r: { id: string }) => r.id), [row.profile_interview_id]);
  assert.equal((await read(owner, "", { status: "registered" })).body.pagination.total, 0);
});

Deno.test("lists: each filter, pagination and a stable order", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  const positionId = await createPosition(sql, fixture.merchantId, fixture.interviewId);
  const rows = await register(owner, {
    interview_id: fixture.interviewId,
    users: Array.from({ length: 7 }, (_, i) => ({ email: `c${i}@example.com`, external_id: `x${i}` })),
  });
  const [viaPosition] = await register(owner, {
    interview_id: positionId,
    users: [{ email: "p@example.com" }],
  });
  const micro1 = await callFunction(server.functionsUrl, "interview/invite", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      job_application_id: "job-42",
      disable_email_notification: true,
      candidates: [{ name: "Mo", email: "mo@example.com" }],
    },
  });
  assert.equal(micro1.status, 200, JSON.stringify(micro1.body));
  // One batch shares its transaction's created_at: within it, id order.
  const all = [...rows.map((r) => r.profile_interview_id).sort(), viaPosition.profile_interview_id];

  const ids = (reply: { body: { data: { id: string }[] } }) => reply.body.data.map((r) => r.id);
  const first = await read(owner, "", { limit: "3" });
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body.pagination, { total: 9, limit: 3, offset: 0, has_more: true });
  const pages = [first];
  for (const offset of [3, 6]) pages.push(await read(owner, "", { limit: "3", offset: String(offset) }));
  assert.deepEqual(pages[2].body.pagination, { total: 9, limit: 3, offset: 6, has_more: false });
  const paged = pages.flatMap(ids);
  assert.equal(new Set(paged).size, 9);
  assert.deepEqual(paged.slice(0, 8), all, "oldest first, then by id");
  assert.deepEqual(ids(await read(owner)), paged, "the default page holds them all, in the same order");

  assert.equal((await read(owner, "", { interview_id: fixture.interviewId })).body.pagination.total, 9);
  assert.deepEqual(ids(await read(owner, "", { position_id: positionId })), [
    viaPosition.profile_interview_id,
  ]);
  assert.deepEqual(ids(await read(owner, "", { external_id: "x3" })), [rows[3].profile_interview_id]);
  assert.deepEqual(ids(await read(owner, "", { email: " C5@EXAMPLE.com " })), [rows[5].profile_interview_id]);
  const byJob = await read(owner, "", { job_application_id: "job-42" });
  assert.deepEqual(byJob.body.data.map((r: { candidate: { email: string } }) => r.candidate.email), [
    "mo@example.com",
  ]);
  assert.equal(byJob.body.data[0].job_application_id, "job-42");

  const [{ created_at }] = await sql<{ created_at: Date }[]>`
    select created_at from profile_interviews where id = ${rows[4].profile_interview_id}`;
  const after = await read(owner, "", { created_after: created_at.toISOString() });
  const before = await read(owner, "", { created_before: created_at.toISOString() });
  assert.equal(after.body.pagination.total + before.body.pagination.total, 9);
  assert.ok(ids(after).includes(rows[4].profile_interview_id));
  assert.ok(!ids(before).includes(rows[4].profile_interview_id));

  const combined = await read(owner, "", {
    interview_id: fixture.interviewId,
    external_id: "x1",
    status: "registered",
  });
  assert.deepEqual(ids(combined), [rows[1].profile_interview_id]);
  assert.equal((await read(owner, "", { status: "started" })).body.pagination.total, 0);
  assert.deepEqual((await read(owner, "", { offset: "100" })).body, {
    data: [],
    pagination: { total: 9, limit: 50, offset: 100, has_more: false },
  });
});

Deno.test("who sees what: own and sub-merchants' registrations, never another merchant's", opts, async () => {
  const parent = await createMerchant(sql);
  const child = await createMerchant(sql, { parentId: parent.merchantId });
  const other = await createMerchant(sql);
  const parentOwner = await userToken(parent.ownerId);
  const childOwner = await userToken(child.ownerId);
  const otherOwner = await userToken(other.ownerId);
  const [mine] = await register(parentOwner, {
    interview_id: parent.interviewId,
    users: [{ email: "a@example.com" }],
  });
  const [childs] = await register(childOwner, {
    interview_id: child.interviewId,
    users: [{ email: "a@example.com" }],
  });
  const [theirs] = await register(otherOwner, {
    interview_id: other.interviewId,
    users: [{ email: "a@example.com" }],
  });

  const ids = (reply: { body: { data: { id: string }[] } }) => reply.body.data.map((r) => r.id).sort();
  assert.deepEqual(
    ids(await read(parentOwner)),
    [mine.profile_interview_id, childs.profile_interview_id].sort(),
  );
  assert.deepEqual(ids(await read(parentOwner, "", { merchant_id: child.merchantId })), [
    childs.profile_interview_id,
  ]);
  assert.deepEqual(ids(await read(childOwner)), [childs.profile_interview_id]);
  assert.deepEqual(ids(await read(parentOwner, "", { email: "a@example.com" })).length, 2);

  for (const [token, id] of [[parentOwner, theirs], [otherOwner, mine], [childOwner, mine]] as const) {
    const reply = await read(token, `/${id.profile_interview_id}`);
    assert.deepEqual([reply.status, reply.body], [404, { error: "Registration not found" }]);
  }
  assert.equal((await read(parentOwner, `/${childs.profile_interview_id}`)).status, 200);
  const foreign = await read(otherOwner, "", { merchant_id: parent.merchantId });
  assert.deepEqual([foreign.status, foreign.body.name], [403, "merchant_id"]);
  const foreignOne = await read(otherOwner, `/${mine.profile_interview_id}`, {
    merchant_id: parent.merchantId,
  });
  assert.equal(foreignOne.status, 403);

  // The merchant's API key sees what its owner sees; the service key must name the merchant.
  const created = await callFunction(server.functionsUrl, "api-keys", {
    token: parentOwner,
    body: { name: "ats" },
  });
  assert.equal(created.status, 201);
  const byKey = await callFunction(server.functionsUrl, "registrations", {
    method: "GET",
    headers: { "x-api-key": created.body.key },
  });
  assert.deepEqual(ids(byKey), ids(await read(parentOwner)));
  assert.equal((await read(LOCAL_SECRET_KEY)).body.name, "merchant_id");
  assert.deepEqual(ids(await read(LOCAL_SECRET_KEY, "", { merchant_id: other.merchantId })), [
    theirs.profile_interview_id,
  ]);

  // Roles registration refuses are refused here too.
  const selection = await userToken(await createStaff(sql, parent.merchantId, "merchant_selection"));
  assert.deepEqual((await read(selection)).status, 403);
  assert.equal(
    (await read(await userToken(await createStaff(sql, parent.merchantId, "merchant")))).status,
    200,
  );
  assert.equal((await callFunction(server.functionsUrl, "registrations", { method: "GET" })).status, 401);
});

Deno.test("bad query parameters: a 422 naming the parameter; a malformed id is a 404", opts, async () => {
  const fixture = await createMerchant(sql);
  const owner = await userToken(fixture.ownerId);
  for (
    const [query, name] of [
      [{ limit: "0" }, "limit"],
      [{ limit: "1001" }, "limit"],
      [{ limit: "ten" }, "limit"],
      [{ offset: "-1" }, "offset"],
      [{ status: "done" }, "status"],
      [{ interview_id: "nope" }, "interview_id"],
      [{ created_after: "yesterday" }, "created_after"],
    ] as const
  ) {
    const reply = await read(owner, "", query);
    assert.deepEqual([reply.status, reply.body.name], [422, name], JSON.stringify(query));
  }
  assert.equal((await read(owner, "", { limit: "1000" })).status, 200);
  assert.deepEqual((await read(owner, "/not-a-uuid")).status, 404);
  assert.deepEqual((await read(owner, `/${crypto.randomUUID()}`)).status, 404);
});

Deno.test(
  "the OpenAPI document describes both reads from the schemas the handlers validate with",
  opts,
  async () => {
    const doc = (await callFunction(server.functionsUrl, "openapi", { method: "GET" })).body;
    const list = doc.paths["/registrations"].get;
    assert.deepEqual(
      list.parameters.map((p: { name: string }) => p.name),
      Object.keys(ListRegistrationsQuery.shape),
    );
    assert.equal(list.parameters.find((p: { name: string }) => p.name === "limit").schema.maximum, 1000);
    assert.equal(
      list.responses[200].content["application/json"].schema.$ref,
      "#/components/schemas/RegistrationList",
    );
    assert.ok(doc.paths["/registrations/{id}"].get.responses[404]);
    const fixture = await createMerchant(sql);
    await register(LOCAL_SECRET_KEY, {
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      users: [{ email: "doc@example.com" }],
    });
    assert.deepEqual(
      Object.keys(doc.components.schemas.Registration.properties).sort(),
      Object.keys(
        (await read(LOCAL_SECRET_KEY, "", { merchant_id: fixture.merchantId })).body.data[0],
      )
        .sort(),
    );
  },
);

addEventListener("unload", () => server.close());
