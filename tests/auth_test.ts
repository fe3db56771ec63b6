import assert from "node:assert/strict";
import { startTestServer } from "./_support/server.ts";
import { asymmetricSigner, SEED, unsignedToken, userToken } from "./_support/credentials.ts";
import { createMerchant, createStaff, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import {
  LOCAL_ANON_JWT,
  LOCAL_SECRET_KEY,
  LOCAL_SERVICE_ROLE_JWT,
} from "../supabase/functions/_shared/config.ts";
import { fileServer } from "./_support/suite.ts";

const es256 = await asymmetricSigner("ES256");
const rs256 = await asymmetricSigner("RS256");
const server = await fileServer({ jwks: { keys: [...es256.jwks.keys, ...rs256.jwks.keys] } });
const { sql } = server.runtime;
const FN = "job-interview-register-users";
/** A bearer credential, extra body fields and extra headers. */
type Credential = [string | undefined, Record<string, unknown>?, Record<string, string>?];

async function registerWith(token: string | undefined, extra: Record<string, unknown> = {}, headers = {}) {
  return await callFunction(server.functionsUrl, FN, {
    token,
    headers,
    body: {
      interview_id: SEED.activeInterview,
      is_test: true,
      users: [{ email: `auth-${crypto.randomUUID()}@example.com` }],
      ...extra,
    },
  });
}

Deno.test("credential matrix: who gets in, who gets 401, who gets 403", async (t) => {
  const cases: [
    string,
    () => Credential | Promise<Credential>,
    number,
    string?,
  ][] = [
    ["no Authorization header", () => [undefined], 401],
    ["a non-Bearer scheme", () => ["", {}, { authorization: "Basic dXNlcjpwYXNz" }], 401],
    ["a malformed token", () => ["not.a.jwt"], 401, "Malformed token"],
    ["garbage", () => ["garbage"], 401],
    ["an expired token", async () => [await userToken(SEED.owner, { expiresIn: -60 })], 401, "Token expired"],
    [
      "a token signed with the wrong key",
      async () => [await userToken(SEED.owner, { secret: "x".repeat(48) })],
      401,
      "Invalid token",
    ],
    ["alg: none", () => [unsignedToken(SEED.owner)], 401],
    ["the anon key", () => [LOCAL_ANON_JWT], 401, "Unauthenticated user"],
    ["a wrong sb_secret_ key", () => ["sb_secret_wrongwrongwrongwrong"], 401, "Invalid API key"],
    [
      "a valid token of an unknown user",
      async () => [await userToken(crypto.randomUUID())],
      401,
      "Unauthenticated user",
    ],
    [
      "a valid token whose subject is not a user id",
      async () => [await userToken("not-a-uuid")],
      401,
      "Unauthenticated user",
    ],
    ["a valid token with an empty subject", async () => [await userToken("")], 401, "Unauthenticated user"],
    ["a merchant_selection user", async () => [await userToken(SEED.selection)], 403, "Role not permitted"],
    ["a mentor", async () => [await userToken(SEED.mentor)], 403, "Role not permitted"],
    ["the merchant owner (HS256)", async () => [await userToken(SEED.owner)], 200],
    ["plain merchant staff", async () => [await userToken(SEED.staff)], 200],
    ["an ES256 token checked against the JWKS", async () => [await es256.sign(SEED.owner)], 200],
    ["an RS256 token checked against the JWKS", async () => [await rs256.sign(SEED.staff)], 200],
    [
      "an expired ES256 token",
      async () => [await es256.sign(SEED.owner, { expiresIn: -5 })],
      401,
      "Token expired",
    ],
    [
      "an ES256 token from a key not in the JWKS",
      async () => [await (await asymmetricSigner("ES256")).sign(SEED.owner)],
      401,
    ],
    [
      "a platform admin naming any merchant",
      async () => [await userToken(SEED.admin), { merchant_id: SEED.parentMerchant }],
      200,
    ],
    [
      "a platform admin naming no merchant",
      async () => [await userToken(SEED.admin)],
      422,
      "Field is required.",
    ],
    [
      "staff naming a merchant they may not act for",
      async () => [await userToken(SEED.staff), { merchant_id: SEED.globex }],
      403,
    ],
    [
      "staff naming a merchant id that does not exist",
      async () => [await userToken(SEED.staff), { merchant_id: crypto.randomUUID() }],
      403,
    ],
    [
      "sub-merchant staff naming the parent",
      async () => [await userToken(SEED.subStaff), { merchant_id: SEED.parentMerchant }],
      403,
    ],
    [
      "the parent's owner acting for its sub-merchant",
      async () => [await userToken(SEED.owner), {
        merchant_id: SEED.subMerchant,
        interview_id: SEED.subInterview,
      }],
      200,
    ],
    [
      "the parent's plain staff acting for its sub-merchant",
      async () => [await userToken(SEED.staff), {
        merchant_id: SEED.subMerchant,
        interview_id: SEED.subInterview,
      }],
      200,
    ],
    [
      "the service key (sb_secret_) without merchant_id",
      () => [LOCAL_SECRET_KEY],
      422,
      "Field is required.",
    ],
    ["the service key (service_role JWT) without merchant_id", () => [LOCAL_SERVICE_ROLE_JWT], 422],
    [
      "the service key with merchant_id",
      () => [LOCAL_SECRET_KEY, { merchant_id: SEED.parentMerchant }],
      200,
    ],
    [
      "the service_role JWT with merchant_id",
      () => [LOCAL_SERVICE_ROLE_JWT, { merchant_id: SEED.parentMerchant }],
      200,
    ],
    [
      "the service key with a merchant that does not exist",
      () => [LOCAL_SECRET_KEY, { merchant_id: crypto.randomUUID() }],
      422,
      "Merchant not found",
    ],
    [
      "the service key naming another merchant's interview",
      () => [LOCAL_SECRET_KEY, { merchant_id: SEED.globex }],
      422,
      "Interview not found",
    ],
  ];
  for (const [name, make, status, error] of cases) {
    await t.step(name, async () => {
      const [token, extra, headers] = await make();
      const reply = await registerWith(token, extra, headers);
      assert.deepEqual(reply.status, status, JSON.stringify(reply.body));
      if (status === 200) assert.deepEqual(reply.body[0].result, "ok");
      else assert.deepEqual(typeof reply.body.error, "string");
      if (error) assert.deepEqual(reply.body.error, error);
      if (status === 401) assert.deepEqual(reply.headers.get("www-authenticate"), "Bearer");
    });
  }
});

Deno.test("a refused request writes nothing", async () => {
  const fixture = await createMerchant(sql);
  const mentor = await createStaff(sql, fixture.merchantId, "mentor");
  const before = await merchantFootprint(sql, fixture.merchantId);
  const body = { interview_id: fixture.interviewId, users: [{ email: "nope@example.com" }] };
  const attempts = [
    await callFunction(server.functionsUrl, FN, { token: await userToken(mentor), body }),
    await callFunction(server.functionsUrl, FN, {
      token: await userToken(SEED.globexOwner),
      body: { ...body, merchant_id: fixture.merchantId },
    }),
    await callFunction(server.functionsUrl, FN, {
      token: await userToken(fixture.ownerId, { expiresIn: -1 }),
      body,
    }),
    await callFunction(server.functionsUrl, FN, {
      token: await userToken(fixture.ownerId),
      body: { ...body, type: "url", send_email: true },
    }),
  ];
  assert.deepEqual(attempts.map((a) => a.status), [403, 403, 401, 422]);
  assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
});

Deno.test("a JWKS given by URL is fetched once and cached; unreachable, it is a 503", async () => {
  const signer = await asymmetricSigner("ES256");
  let fetches = 0;
  const jwksServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    fetches++;
    assert.equal(new URL(req.url).pathname, "/auth/v1/.well-known/jwks.json");
    return Response.json(signer.jwks);
  });
  const supabaseUrl = `http://127.0.0.1:${jwksServer.addr.port}`;
  const viaUrl = await startTestServer({
    jwks: null,
    jwksUrl: `${supabaseUrl}/auth/v1/.well-known/jwks.json`,
  });
  try {
    for (const sub of [SEED.owner, SEED.staff, SEED.owner]) {
      const reply = await callFunction(viaUrl.functionsUrl, FN, {
        token: await signer.sign(sub),
        body: {
          interview_id: SEED.activeInterview,
          is_test: true,
          users: [{ email: `jwks-${crypto.randomUUID()}@example.com` }],
        },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
    }
    assert.equal(fetches, 1, "the key set is fetched once for all three tokens");
    const forged = await (await asymmetricSigner("ES256")).sign(SEED.owner);
    assert.equal((await callFunction(viaUrl.functionsUrl, FN, { token: forged, body: {} })).status, 401);
  } finally {
    await viaUrl.close();
    await jwksServer.shutdown();
  }

  const down = await startTestServer({ jwks: null, jwksUrl: `${supabaseUrl}/auth/v1/.well-known/jwks.json` });
  try {
    const reply = await callFunction(down.functionsUrl, FN, {
      token: await signer.sign(SEED.owner),
      body: {},
    });
    assert.equal(reply.status, 503);
    assert.equal(reply.headers.get("retry-after"), "5");
    // HS256 tokens do not need the key set and still work.
    const hs = await callFunction(down.functionsUrl, FN, {
      token: await userToken(SEED.owner),
      body: {
        interview_id: SEED.activeInterview,
        is_test: true,
        users: [{ email: `jwks-${crypto.randomUUID()}@example.com` }],
      },
    });
    assert.equal(hs.status, 200);
  } finally {
    await down.close();
  }
});

Deno.test(
  "the key endpoint failing: keys fetched before keep verifying; none fetched yet, 503 rather than 401",
  async () => {
    const signer = await asymmetricSigner("ES256");
    let healthy = true;
    let fetches = 0;
    const jwksServer = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
      fetches++;
      return healthy ? Response.json(signer.jwks) : new Response("bad gateway", { status: 502 });
    });
    const jwksUrl = `http://127.0.0.1:${jwksServer.addr.port}/auth/v1/.well-known/jwks.json`;
    // A cache that is stale at once: every request asks the endpoint again.
    const api = await startTestServer({ jwks: null, jwksUrl, jwksCacheSeconds: 0 });
    // A new token each time (its own jti): a token verified once is remembered, and would not ask.
    const register = async () =>
      await callFunction(api.functionsUrl, FN, {
        token: await signer.sign(SEED.owner, { claims: { jti: crypto.randomUUID() } }),
        body: {
          interview_id: SEED.activeInterview,
          is_test: true,
          users: [{ email: `jwks-${crypto.randomUUID()}@example.com` }],
        },
      });
    try {
      healthy = false;
      const neverFetched = await register();
      assert.equal(neverFetched.status, 503, JSON.stringify(neverFetched.body));
      assert.equal(neverFetched.headers.get("retry-after"), "5");

      healthy = true;
      assert.equal((await register()).status, 200);
      healthy = false;
      const before = fetches;
      const stale = await register();
      assert.equal(stale.status, 200, JSON.stringify(stale.body));
      assert.ok(fetches > before, "the endpoint was asked again and failed");
      const afterFailure = fetches;
      assert.equal((await register()).status, 200);
      assert.equal(fetches, afterFailure, "after a failed refetch the endpoint is left alone for a while");
      const forged = await (await asymmetricSigner("ES256")).sign(SEED.owner);
      assert.equal((await callFunction(api.functionsUrl, FN, { token: forged, body: {} })).status, 401);
    } finally {
      await api.close();
      await jwksServer.shutdown();
    }
  },
);

Deno.test("a token the API has verified before is still refused once it expires", async () => {
  // exp is in whole seconds: at least two seconds of life, so the first request is surely in time.
  const expiresAt = Math.floor(Date.now() / 1000) + 2;
  const token = await userToken(SEED.owner, { expiresIn: expiresAt - Math.floor(Date.now() / 1000) });
  const first = await registerWith(token);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  // Verified now, and remembered: the same token again is let in without verifying it anew.
  assert.equal((await registerWith(token)).status, 200);
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt * 1000 - Date.now()) + 50));
  const late = await registerWith(token);
  assert.equal(late.status, 401);
  assert.equal(late.body.error, "Token expired");
});
