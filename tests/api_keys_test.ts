/**
 * Merchant API keys over real HTTP against the real database: managing them, every place a credential
 * goes, revocation and expiry, merchants a key may not act for, concurrency, and the plaintext nowhere.
 */
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { startTestServer } from "./_support/server.ts";
import { SEED, userToken } from "./_support/credentials.ts";
import { createMerchant, createStaff, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { captureLogs } from "./_support/logs.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { API_KEY_PATTERN, LOCAL_ACME_API_KEY } from "../supabase/functions/_shared/api_keys/key.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer();
const { sql } = server.runtime;
const REGISTER = "job-interview-register-users";

async function createKey(token: string, body: Record<string, unknown> = {}) {
  return await callFunction(server.functionsUrl, "api-keys", { token, body: { name: "test key", ...body } });
}

/** A fixture merchant, its owner's token and a fresh key of it. */
async function merchantWithKey(options: { credits?: number; parentId?: string } = {}) {
  const fixture = await createMerchant(sql, options);
  const ownerToken = await userToken(fixture.ownerId);
  const created = await createKey(ownerToken);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { ...fixture, ownerToken, key: created.body.key as string, keyId: created.body.id as string };
}

/** Registers one new candidate for `interviewId` with the given headers; `extra` goes into the body. */
function registerWith(
  headers: Record<string, string>,
  interviewId: string,
  extra: Record<string, unknown> = {},
) {
  return callFunction(server.functionsUrl, REGISTER, {
    headers,
    body: {
      interview_id: interviewId,
      users: [{ email: `key-${crypto.randomUUID()}@example.com` }],
      ...extra,
    },
  });
}

Deno.test(
  "an owner creates a key: the secret once, then only its prefix; it registers with no merchant_id",
  async () => {
    const fixture = await createMerchant(sql);
    const ownerToken = await userToken(fixture.ownerId);
    const created = await createKey(ownerToken, { name: "  ATS production  " });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { key, ...shown } = created.body;
    assert.match(key, API_KEY_PATTERN);
    assert.deepEqual(Object.keys(shown).sort(), [
      "created_at",
      "created_by",
      "expires_at",
      "id",
      "last_used_at",
      "merchant_id",
      "name",
      "prefix",
      "revoked_at",
    ]);
    assert.equal(shown.name, "ATS production");
    assert.equal(shown.merchant_id, fixture.merchantId);
    assert.equal(shown.created_by, fixture.ownerId);
    assert.equal(shown.prefix, key.slice(0, 12));
    assert.equal(shown.last_used_at, null);

    const used = await registerWith({ "x-api-key": key }, fixture.interviewId);
    assert.equal(used.status, 200, JSON.stringify(used.body));
    assert.equal(used.body[0].result, "ok");
    assert.equal(await credits(sql, fixture.merchantId), 999);

    const listed = await callFunction(server.functionsUrl, "api-keys", { method: "GET", token: ownerToken });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.equal(listed.body.merchant_id, fixture.merchantId);
    assert.equal(listed.body.api_keys.length, 1);
    assert.equal(listed.body.api_keys[0].id, shown.id);
    assert.ok(listed.body.api_keys[0].last_used_at, "the use was recorded");
    assert.equal(
      JSON.stringify(listed.body).includes(key.slice(12)),
      false,
      "no part of the secret in the list",
    );
    assert.equal("key" in listed.body.api_keys[0], false);
  },
);

Deno.test(
  "who may manage keys: owners (also of a parent), admins, the service key with merchant_id",
  async (t) => {
    const parent = await createMerchant(sql);
    const child = await createMerchant(sql, { parentId: parent.merchantId });
    const staff = await createStaff(sql, parent.merchantId, "merchant");
    const selection = await createStaff(sql, parent.merchantId, "merchant_selection");
    const { key } = await merchantWithKey();
    const cases: [string, Record<string, string>, Record<string, unknown>, number, string?][] = [
      ["the owner", { authorization: `Bearer ${await userToken(parent.ownerId)}` }, {}, 201],
      [
        "the parent's owner, for the sub-merchant",
        {
          authorization: `Bearer ${await userToken(parent.ownerId)}`,
        },
        { merchant_id: child.merchantId },
        201,
      ],
      [
        "the sub-merchant's owner, for the parent",
        {
          authorization: `Bearer ${await userToken(child.ownerId)}`,
        },
        { merchant_id: parent.merchantId },
        403,
      ],
      ["staff", { authorization: `Bearer ${await userToken(staff)}` }, {}, 403, "Role not permitted"],
      ["merchant_selection", { authorization: `Bearer ${await userToken(selection)}` }, {}, 403],
      ["an admin", { authorization: `Bearer ${await userToken(SEED.admin)}` }, {
        merchant_id: parent.merchantId,
      }, 201],
      ["the service key", { apikey: LOCAL_SECRET_KEY }, { merchant_id: parent.merchantId }, 201],
      ["the service key without merchant_id", { apikey: LOCAL_SECRET_KEY }, {}, 422, "Field is required."],
      ["an API key", { "x-api-key": key }, {}, 403],
      ["nobody", {}, {}, 401],
    ];
    for (const [name, headers, body, status, error] of cases) {
      await t.step(name, async () => {
        const before = await sql`select count(*)::int as n from merchant_api_keys`;
        const reply = await callFunction(server.functionsUrl, "api-keys", {
          headers,
          body: { name, ...body },
        });
        assert.equal(reply.status, status, JSON.stringify(reply.body));
        if (error) assert.equal(reply.body.error, error);
        const after = await sql`select count(*)::int as n from merchant_api_keys`;
        assert.equal(after[0].n - before[0].n, status === 201 ? 1 : 0);
      });
    }

    await t.step("bad requests change nothing", async () => {
      const owner = `Bearer ${await userToken(parent.ownerId)}`;
      for (
        const [body, field] of [
          [{ name: "" }, "name"],
          [{}, "name"],
          [{ name: "x".repeat(101) }, "name"],
          [{ name: "x", expires_at: "tomorrow" }, "expires_at"],
          [{ name: "x", expires_at: "2020-01-01T00:00:00Z" }, "expires_at"],
        ] as const
      ) {
        const reply = await callFunction(server.functionsUrl, "api-keys", {
          headers: { authorization: owner },
          body,
        });
        assert.equal(reply.status, 422, JSON.stringify(reply.body));
        assert.equal(reply.body.name, field);
      }
    });
  },
);

Deno.test("every credential location, for merchant keys and for sb_secret_", async (t) => {
  const { key, interviewId, merchantId } = await merchantWithKey();
  const ownerJwt = await userToken((await createMerchant(sql)).ownerId);
  const cases: [string, Record<string, string>, Record<string, unknown>, number][] = [
    ["key in x-api-key", { "x-api-key": key }, {}, 200],
    ["key in apikey", { apikey: key }, {}, 200],
    ["key as Bearer", { authorization: `Bearer ${key}` }, {}, 200],
    ["key with a lower-case bearer", { authorization: `bearer ${key}` }, {}, 200],
    ["sb_secret_ in x-api-key", { "x-api-key": LOCAL_SECRET_KEY }, { merchant_id: merchantId }, 200],
    ["sb_secret_ in apikey", { apikey: LOCAL_SECRET_KEY }, { merchant_id: merchantId }, 200],
    [
      "sb_secret_ as Bearer",
      { authorization: `Bearer ${LOCAL_SECRET_KEY}` },
      { merchant_id: merchantId },
      200,
    ],
    ["a publishable apikey and no caller", { apikey: "sb_publishable_abcdefghijklmnop" }, {}, 401],
    [
      "a publishable apikey with a key in x-api-key",
      {
        apikey: "sb_publishable_abcdefghijklmnop",
        "x-api-key": key,
      },
      {},
      200,
    ],
    [
      "a bad Bearer beside a good x-api-key: Authorization is the one read",
      {
        authorization: "Bearer not.a.jwt",
        "x-api-key": key,
      },
      {},
      401,
    ],
    ["a wrong key", { "x-api-key": `jmk_${"A".repeat(43)}` }, {}, 401],
    ["a malformed key", { "x-api-key": "jmk_short" }, {}, 401],
    [
      "a wrong sb_secret_ in apikey",
      { apikey: "sb_secret_wrongwrongwrong" },
      { merchant_id: merchantId },
      401,
    ],
  ];
  for (const [name, headers, extra, status] of cases) {
    await t.step(name, async () => {
      const reply = await registerWith(headers, interviewId, extra);
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      if (status === 200) assert.equal(reply.body[0].result, "ok");
      if (status === 401) assert.ok(reply.headers.get("www-authenticate"));
    });
  }

  await t.step("a publishable apikey with a user JWT in Authorization is that user", async () => {
    const reply = await callFunction(server.functionsUrl, REGISTER, {
      headers: { apikey: "sb_publishable_abcdefghijklmnop", authorization: `Bearer ${ownerJwt}` },
      body: { interview_id: SEED.activeInterview, is_test: true, users: [{ email: "x@example.com" }] },
    });
    // The fixture owner may not act for Acme: the caller was the user, not the apikey header.
    assert.equal(reply.status, 422, JSON.stringify(reply.body));
    assert.equal(reply.body.error, "Interview not found");
  });

  await t.step("the same on invite-users", async () => {
    const reply = await callFunction(server.functionsUrl, "invite-users", {
      headers: { "x-api-key": key },
      body: {
        users: [
          { email: `cand-${crypto.randomUUID()}@example.com`, type: "candidate", interview_id: interviewId },
          { email: `staff-${crypto.randomUUID()}@example.com`, type: "merchant" },
          { email: `owner-${crypto.randomUUID()}@example.com`, type: "merchant_owner" },
        ],
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual(reply.body.map((row: { result: string }) => row.result), [
      "Invited",
      "Invited",
      "Error: Only a merchant owner or an admin can grant merchant_owner",
    ]);
  });

  await t.step("through invite-users a key is still its merchant's, not the service key", async () => {
    const stranger = await createMerchant(sql);
    const before = await merchantFootprint(sql, stranger.merchantId);
    const reply = await callFunction(server.functionsUrl, "invite-users", {
      headers: { "x-api-key": key },
      body: {
        merchant_id: stranger.merchantId,
        users: [{
          email: `x-${crypto.randomUUID()}@example.com`,
          type: "candidate",
          interview_id: stranger.interviewId,
        }],
      },
    });
    assert.equal(reply.status, 403, JSON.stringify(reply.body));
    assert.deepEqual(await merchantFootprint(sql, stranger.merchantId), before);
  });

  await t.step("service-only and user-only endpoints refuse a key", async () => {
    for (const name of ["interview-complete", "email-dispatch", "invite-accept"]) {
      const reply = await callFunction(server.functionsUrl, name, {
        headers: { "x-api-key": key },
        body: { invitation_token: "x", profile_interview_id: crypto.randomUUID() },
      });
      assert.equal(reply.status, 403, `${name}: ${JSON.stringify(reply.body)}`);
    }
  });
});

Deno.test("supabase-js: functions.invoke with an sb_secret_ key, and with a merchant key", async () => {
  const { key, interviewId, merchantId } = await merchantWithKey();
  const secret = createClient(server.baseUrl, LOCAL_SECRET_KEY, { auth: { persistSession: false } });
  const bySecret = await secret.functions.invoke(REGISTER, {
    body: { merchant_id: merchantId, interview_id: interviewId, users: [{ email: "js-secret@example.com" }] },
  });
  assert.equal(bySecret.error, null, String(bySecret.error));
  assert.equal(bySecret.data[0].result, "ok");

  const byKey = createClient(server.baseUrl, key, { auth: { persistSession: false } });
  const invited = await byKey.functions.invoke("interview/invite", {
    body: { interview_id: interviewId, candidates: [{ name: "Js Key", email: "js-key@example.com" }] },
  });
  assert.equal(invited.error, null, String(invited.error));
  assert.equal(invited.data.status, true);

  const listed = await secret.functions.invoke(`api-keys?merchant_id=${merchantId}`, { method: "GET" });
  assert.equal(listed.error, null, String(listed.error));
  assert.equal(listed.data.api_keys.length, 1);
});

Deno.test(
  "a revoked key is refused on the very next request, on another function instance too",
  async () => {
    const { key, keyId, interviewId, ownerToken } = await merchantWithKey();
    await using other = await startTestServer();
    assert.equal((await registerWith({ "x-api-key": key }, interviewId)).status, 200);
    const viaOther = () =>
      callFunction(other.functionsUrl, REGISTER, {
        headers: { "x-api-key": key },
        body: { interview_id: interviewId, users: [{ email: `o-${crypto.randomUUID()}@example.com` }] },
      });
    assert.equal((await viaOther()).status, 200, "the other instance has used it");

    const revoked = await callFunction(server.functionsUrl, `api-keys/${keyId}`, {
      method: "DELETE",
      token: ownerToken,
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    assert.ok(revoked.body.revoked_at);

    const here = await registerWith({ "x-api-key": key }, interviewId);
    assert.equal(here.status, 401);
    assert.equal(here.body.error, "API key revoked");
    const there = await viaOther();
    assert.equal(there.status, 401);
    assert.equal(there.body.error, "API key revoked");

    const again = await callFunction(server.functionsUrl, `api-keys/${keyId}`, {
      method: "DELETE",
      token: ownerToken,
    });
    assert.equal(again.status, 200);
    assert.equal(again.body.revoked_at, revoked.body.revoked_at, "revoking twice changes nothing");
    const missing = await callFunction(server.functionsUrl, `api-keys/${crypto.randomUUID()}`, {
      method: "DELETE",
      token: ownerToken,
    });
    assert.equal(missing.status, 404);
    const stranger = await userToken((await createMerchant(sql)).ownerId);
    const notTheirs = await callFunction(server.functionsUrl, `api-keys/${keyId}`, {
      method: "DELETE",
      token: stranger,
    });
    assert.equal(notTheirs.status, 403);
  },
);

Deno.test("recording a key's last use never waits: a row held elsewhere is left alone", async () => {
  const { key, keyId, interviewId } = await merchantWithKey();
  await sql`update merchant_api_keys set last_used_at = null where id = ${keyId}`;
  let reply: Awaited<ReturnType<typeof registerWith>> | undefined;
  await sql.begin(async (tx) => {
    await tx`select 1 from merchant_api_keys where id = ${keyId} for update`;
    // With the row locked here until this returns, a registration that waited for it would never answer.
    reply = await registerWith({ "x-api-key": key }, interviewId);
  });
  assert.equal(reply!.status, 200, JSON.stringify(reply!.body));
  const [skipped] = await sql`select last_used_at from merchant_api_keys where id = ${keyId}`;
  assert.equal(skipped.last_used_at, null, "the use was not recorded rather than waited for");
  assert.equal((await registerWith({ "x-api-key": key }, interviewId)).status, 200);
  const [recorded] = await sql`select last_used_at from merchant_api_keys where id = ${keyId}`;
  assert.ok(recorded.last_used_at, "the next use is");
});

Deno.test("an expired key is refused; one expiring later works until then", async () => {
  const fixture = await createMerchant(sql);
  const ownerToken = await userToken(fixture.ownerId);
  const later = new Date(Date.now() + 3600_000).toISOString();
  const created = await createKey(ownerToken, { expires_at: later });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(new Date(created.body.expires_at).getTime(), new Date(later).getTime());
  assert.equal((await registerWith({ "x-api-key": created.body.key }, fixture.interviewId)).status, 200);

  await sql`update merchant_api_keys set created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'
    where id = ${created.body.id}`;
  const before = await merchantFootprint(sql, fixture.merchantId);
  const reply = await registerWith({ "x-api-key": created.body.key }, fixture.interviewId);
  assert.equal(reply.status, 401);
  assert.equal(reply.body.error, "API key expired");
  assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
});

Deno.test(
  "a key acts for its merchant and sub-merchants only: naming another is a 403 and writes nothing",
  async () => {
    const parent = await merchantWithKey();
    const child = await createMerchant(sql, { parentId: parent.merchantId });
    const childKey = (await createKey(await userToken(child.ownerId))).body.key;
    const stranger = await createMerchant(sql);

    const forChild = await registerWith({ "x-api-key": parent.key }, child.interviewId, {
      merchant_id: child.merchantId,
    });
    assert.equal(forChild.status, 200, JSON.stringify(forChild.body));
    assert.equal(forChild.body[0].result, "ok");

    for (
      const [key, target] of [[parent.key, stranger], [childKey, parent], [parent.key, stranger]] as const
    ) {
      const before = await merchantFootprint(sql, target.merchantId);
      const reply = await registerWith({ "x-api-key": key }, target.interviewId, {
        merchant_id: target.merchantId,
      });
      assert.equal(reply.status, 403, JSON.stringify(reply.body));
      assert.equal(reply.body.error, "Not allowed to act for this merchant");
      assert.deepEqual(await merchantFootprint(sql, target.merchantId), before);
    }
    // Without merchant_id the key's own merchant: another merchant's interview is not found there.
    const foreign = await registerWith({ "x-api-key": parent.key }, stranger.interviewId);
    assert.equal(foreign.status, 422);
  },
);

Deno.test("20 concurrent creations, then 20 concurrent revocations racing registrations", async () => {
  const fixture = await createMerchant(sql, { credits: 10_000 });
  const ownerToken = await userToken(fixture.ownerId);
  const created = await Promise.all(
    Array.from({ length: 20 }, (_, i) => createKey(ownerToken, { name: `concurrent ${i}` })),
  );
  assert.ok(created.every((reply) => reply.status === 201), JSON.stringify(created.map((r) => r.status)));
  const keys = created.map((reply) => reply.body as { id: string; key: string });
  assert.equal(new Set(keys.map((k) => k.key)).size, 20);
  assert.equal(new Set(keys.map((k) => k.id)).size, 20);

  const spent = { ok: 0 };
  const register = async (key: string) => {
    const reply = await registerWith({ "x-api-key": key }, fixture.interviewId);
    assert.ok(reply.status === 200 || reply.status === 401, JSON.stringify(reply.body));
    if (reply.status === 200) spent.ok++;
  };
  const revocations = keys.map(async ({ id, key }) => {
    const revoked = await callFunction(server.functionsUrl, `api-keys/${id}`, {
      method: "DELETE",
      token: ownerToken,
    });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    // Whatever ran alongside, the request after the revocation answered is refused.
    const after = await registerWith({ "x-api-key": key }, fixture.interviewId);
    assert.equal(after.status, 401, JSON.stringify(after.body));
  });
  await Promise.all([...revocations, ...keys.flatMap(({ key }) => [register(key), register(key)])]);

  const listed = await callFunction(server.functionsUrl, "api-keys", { method: "GET", token: ownerToken });
  assert.equal(listed.body.api_keys.length, 20);
  assert.ok(listed.body.api_keys.every((k: { revoked_at: string | null }) => k.revoked_at !== null));
  assert.equal(
    await credits(sql, fixture.merchantId),
    10_000 - spent.ok,
    "one credit per registration that got in",
  );
});

Deno.test(
  "the plaintext of a key is nowhere in the database or the logs after creation and use",
  async () => {
    const fixture = await createMerchant(sql);
    const ownerToken = await userToken(fixture.ownerId);
    const { result: key, lines } = await captureLogs(async () => {
      const created = await createKey(ownerToken);
      const key = created.body.key as string;
      await registerWith({ "x-api-key": key }, fixture.interviewId);
      await registerWith({ apikey: key }, fixture.interviewId, { merchant_id: crypto.randomUUID() });
      await registerWith({ authorization: `Bearer ${key}` }, crypto.randomUUID());
      await callFunction(server.functionsUrl, "interview/invite", {
        headers: { "x-api-key": key },
        body: { interview_id: fixture.interviewId, candidates: [{ name: "P", email: "not an email" }] },
      });
      await callFunction(server.functionsUrl, `api-keys/${created.body.id}`, {
        method: "DELETE",
        token: ownerToken,
      });
      await registerWith({ "x-api-key": key }, fixture.interviewId);
      return key;
    });
    assert.ok(lines.length >= 6, "the requests were logged");
    const secret = key.slice(12);
    assert.equal(lines.filter((line) => line.includes(secret)).length, 0, "not in the logs");

    // Every row of every table, as text; and the statements PostgreSQL keeps.
    const tables = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_tables where schemaname in ('public', 'app')`;
    assert.ok(tables.length > 5);
    for (const { name } of tables) {
      const [{ n }] = await sql.unsafe(`select count(*)::int as n from ${name} t where t::text like $1`, [
        `%${secret}%`,
      ]);
      assert.equal(n, 0, `not in ${name}`);
    }
    const [{ n }] =
      await sql`select count(*)::int as n from pg_stat_activity where query like ${`%${secret}%`}`;
    assert.equal(n, 0, "not in any statement the server runs");
    const [stored] =
      await sql`select encode(key_hash, 'hex') as hash from merchant_api_keys where merchant_id = ${fixture.merchantId}`;
    assert.match(stored.hash, /^[0-9a-f]{64}$/);
  },
);

Deno.test("the seeded Acme key works locally and is refused outside local mode", async () => {
  const local = await callFunction(server.functionsUrl, REGISTER, {
    headers: { "x-api-key": LOCAL_ACME_API_KEY },
    body: { interview_id: SEED.activeInterview, is_test: true, users: [{ email: "seeded-key@example.com" }] },
  });
  assert.equal(local.status, 200, JSON.stringify(local.body));
  assert.equal(local.body[0].result, "ok");

  await using hosted = await startTestServer({ local: false });
  const refused = await callFunction(hosted.functionsUrl, REGISTER, {
    headers: { "x-api-key": LOCAL_ACME_API_KEY },
    body: { interview_id: SEED.activeInterview, is_test: true, users: [{ email: "seeded-key@example.com" }] },
  });
  assert.equal(refused.status, 401);
  assert.match(refused.body.error, /published local-only API key/);
});

Deno.test("a browser may send x-api-key and DELETE: the CORS preflight allows them", async () => {
  const res = await fetch(`${server.functionsUrl}/api-keys/${crypto.randomUUID()}`, {
    method: "OPTIONS",
    headers: {
      origin: "https://ats.example",
      "access-control-request-method": "DELETE",
      "access-control-request-headers": "x-api-key, content-type",
    },
  });
  await res.body?.cancel();
  assert.equal(res.status, 204);
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /x-api-key/);
  assert.match(res.headers.get("access-control-allow-methods") ?? "", /DELETE/);
});

Deno.test("OpenAPI declares every accepted credential", async () => {
  const doc = (await callFunction(server.functionsUrl, "openapi", { method: "GET" })).body;
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), [
    "apiKey",
    "bearerAuth",
    "supabaseApiKey",
  ]);
  assert.equal(doc.components.securitySchemes.apiKey.name, "x-api-key");
  assert.equal(doc.components.securitySchemes.supabaseApiKey.name, "apikey");
  for (const path of ["/job-interview-register-users", "/invite-users", "/interview/invite", "/api-keys"]) {
    assert.deepEqual(doc.paths[path].post.security, [{ bearerAuth: [] }, { apiKey: [] }, {
      supabaseApiKey: [],
    }]);
  }
  assert.ok(doc.paths["/api-keys"].get && doc.paths["/api-keys/{id}"].delete);
});
