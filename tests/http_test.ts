import assert from "node:assert/strict";
import { SEED, userToken } from "./_support/credentials.ts";
import { callFunction } from "./_support/http.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer({ maxUsersPerRequest: 5, maxBodyBytes: 4096 });
const FN = "job-interview-register-users";
const owner = await userToken(SEED.owner);
const user = () => ({ email: `http-${crypto.randomUUID()}@example.com` });

Deno.test("422: every validation failure in the documented error shape", async (t) => {
  const cases: [string, string, { error: string | RegExp; name?: string }][] = [
    ["body not JSON", "{nope", { error: "Request body must be valid JSON" }],
    ["body a JSON array", "[]", { error: "Request body must be a JSON object" }],
    ["body a JSON string", '"x"', { error: "Request body must be a JSON object" }],
    ["interview_id missing", JSON.stringify({ users: [user()] }), {
      error: "Field is required.",
      name: "interview_id",
    }],
    ["users missing", JSON.stringify({ interview_id: SEED.activeInterview }), {
      error: "Field is required.",
      name: "users",
    }],
    ["users empty", JSON.stringify({ interview_id: SEED.activeInterview, users: [] }), {
      error: "At least one user is required",
      name: "users",
    }],
    [
      "too many users",
      JSON.stringify({ interview_id: SEED.activeInterview, users: [1, 2, 3, 4, 5, 6].map(user) }),
      { error: "At most 5 users per request", name: "users" },
    ],
    ["users not an array", JSON.stringify({ interview_id: SEED.activeInterview, users: "x" }), {
      error: /array/,
      name: "users",
    }],
    ["a user that is not an object", JSON.stringify({ interview_id: SEED.activeInterview, users: ["x"] }), {
      error: /object/,
      name: "users.0",
    }],
    ["interview_id not a uuid", JSON.stringify({ interview_id: "abc", users: [user()] }), {
      error: "Must be a UUID",
      name: "interview_id",
    }],
    [
      "merchant_id not a uuid",
      JSON.stringify({ interview_id: SEED.activeInterview, merchant_id: 5, users: [user()] }),
      { error: "Must be a UUID", name: "merchant_id" },
    ],
    ["unknown type", JSON.stringify({ interview_id: SEED.activeInterview, type: "sms", users: [user()] }), {
      error: 'Must be "url" or "invitation"',
      name: "type",
    }],
    [
      "send_email not a boolean",
      JSON.stringify({ interview_id: SEED.activeInterview, send_email: "yes", users: [user()] }),
      { error: "Must be a boolean or null", name: "send_email" },
    ],
    [
      "is_test a number",
      JSON.stringify({ interview_id: SEED.activeInterview, is_test: 1, users: [user()] }),
      { error: "Must be a boolean, a string or null", name: "is_test" },
    ],
    [
      "type url with send_email true",
      JSON.stringify({ interview_id: SEED.activeInterview, type: "url", send_email: true, users: [user()] }),
      { error: 'send_email: true contradicts type "url"', name: "send_email" },
    ],
    ["interview not found", JSON.stringify({ interview_id: crypto.randomUUID(), users: [user()] }), {
      error: "Interview not found",
      name: "interview_id",
    }],
    [
      "another merchant's interview",
      JSON.stringify({ interview_id: SEED.initechInterview, users: [user()] }),
      { error: "Interview not found", name: "interview_id" },
    ],
    ["archived interview", JSON.stringify({ interview_id: SEED.archivedInterview, users: [user()] }), {
      error: "Interview is not available",
      name: "interview_id",
    }],
    ["interview past its date", JSON.stringify({ interview_id: SEED.expiredInterview, users: [user()] }), {
      error: "Interview is not available",
      name: "interview_id",
    }],
  ];
  for (const [name, rawBody, expected] of cases) {
    await t.step(name, async () => {
      const reply = await callFunction(server.functionsUrl, FN, { token: owner, rawBody });
      assert.deepEqual(reply.status, 422, JSON.stringify(reply.body));
      if (expected.error instanceof RegExp) assert.match(reply.body.error, expected.error);
      else assert.deepEqual(reply.body.error, expected.error);
      assert.deepEqual(reply.body.name, expected.name);
      assert.deepEqual(Object.keys(reply.body).filter((k) => k !== "error" && k !== "name"), []);
    });
  }
});

Deno.test("200 even when every row failed", async () => {
  const reply = await callFunction(server.functionsUrl, FN, {
    token: owner,
    body: { interview_id: SEED.activeInterview, users: [{ name: "x" }, { email: "bad" }] },
  });
  assert.deepEqual(reply.status, 200);
  assert.deepEqual(reply.body.map((r: { result: string }) => r.result), [
    "Error: Email is required",
    "Error: Invalid email",
  ]);
});

Deno.test(
  "413 for a body over the limit, 404 for an unknown path, 405 for a wrong method",
  async () => {
    const big = await callFunction(server.functionsUrl, FN, {
      token: owner,
      body: {
        interview_id: SEED.activeInterview,
        users: [{ email: "a@example.com", notes: "x".repeat(5000) }],
      },
    });
    assert.deepEqual(big.status, 413);
    assert.match(big.body.error, /exceeds 4096 bytes/);

    const unknownFunction = await callFunction(server.functionsUrl, "no-such-function", {
      token: owner,
      body: {},
    });
    assert.deepEqual(unknownFunction.status, 404);
    assert.deepEqual(typeof unknownFunction.body.error, "string");
    const unknownPath = await callFunction(server.functionsUrl, `${FN}/extra`, { token: owner, body: {} });
    assert.deepEqual(unknownPath.status, 404);
    assert.deepEqual(unknownPath.body, { error: "Not found" });

    const get = await callFunction(server.functionsUrl, FN, { method: "GET", token: owner });
    assert.deepEqual(get.status, 405);
    assert.deepEqual(get.body, { error: "Method not allowed" });
    assert.deepEqual(get.headers.get("allow"), "POST");
  },
);

Deno.test("CORS: preflights are answered and responses carry the headers", async () => {
  const preflight = await fetch(`${server.functionsUrl}/${FN}`, {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type, x-client-info, apikey",
    },
  });
  await preflight.body?.cancel();
  assert.deepEqual(preflight.status, 204);
  assert.deepEqual(preflight.headers.get("access-control-allow-origin"), "*");
  assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
  assert.match(preflight.headers.get("access-control-allow-headers")!, /authorization/i);
  const reply = await callFunction(server.functionsUrl, FN, { headers: { origin: "https://app.example" } });
  assert.deepEqual(reply.status, 401);
  assert.deepEqual(reply.headers.get("access-control-allow-origin"), "*");
});

Deno.test("every response carries a request id; a client's own id is kept", async () => {
  const generated = await callFunction(server.functionsUrl, FN, { token: owner, rawBody: "{}" });
  assert.match(generated.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  const given = await callFunction(server.functionsUrl, FN, {
    token: owner,
    rawBody: "{}",
    headers: { "x-request-id": "client-chosen-1" },
  });
  assert.deepEqual(given.headers.get("x-request-id"), "client-chosen-1");
});

Deno.test("the service key works over HTTP as a new-style sb_secret_ key", async () => {
  const reply = await callFunction(server.functionsUrl, FN, {
    token: LOCAL_SECRET_KEY,
    body: {
      interview_id: SEED.activeInterview,
      merchant_id: SEED.parentMerchant,
      is_test: true,
      users: [user()],
    },
  });
  assert.deepEqual(reply.status, 200);
  assert(reply.body[0].interview_url);
});
