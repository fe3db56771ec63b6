import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { SEED, userToken } from "./_support/credentials.ts";
import { createInterview, createMerchant, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { waitFor } from "./_support/email.ts";
import { MAX_JSON_DEPTH } from "../supabase/functions/_shared/request_body.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer();
const { sql } = server.runtime;
const FN = "job-interview-register-users";
const register = async (token: string, body: unknown) =>
  await callFunction(server.functionsUrl, FN, { token, body });

Deno.test(
  "the reference page's curl body, sent verbatim with seeded ids, returns the documented shape",
  async () => {
    const token = await userToken(SEED.owner);
    const page = await Deno.readTextFile(
      new URL("../../shared/seeds/001_f120062523e4c751.txt", import.meta.url),
    );
    const curlBody = page.match(/--data '\n([\s\S]*?)\n'/)![1];
    // The seed's ids name JobMojito's own interview and merchant: swap in seeded ones, nothing else.
    const rawBody = curlBody
      .replace("04e09fa5-3fb8-4236-b37d-fca2bcd1cb66", SEED.draftInterview)
      .replace("b5201178-46dd-4a20-a1af-7ffd647f834b", SEED.parentMerchant);
    assert.notEqual(rawBody, curlBody);
    const reply = await callFunction(server.functionsUrl, FN, { token, rawBody });
    assert.deepEqual(reply.status, 200);
    assert.deepEqual(reply.body.length, 2);
    const [peter, beast] = reply.body;
    assert.deepEqual(peter.name, "Peter Parker");
    assert.deepEqual(peter.external_id, "abcd");
    assert.deepEqual(peter.result, "ok");
    assert.deepEqual(beast.result, "ok");
    assert(!("external_id" in beast), "keys not sent are not invented");
    for (const row of reply.body) {
      assert.match(
        row.interview_url,
        new RegExp(
          `^http://localhost:3000/interview/take/${SEED.draftInterview}/\\?interview_token=[\\w-]+\\.[\\w-]+\\.[\\w-]+&view_hm=true&view_hi=true$`,
        ),
      );
      assert.match(row.profile_interview_id, /^[0-9a-f-]{36}$/);
      const claims = decodeJwt(tokenOf(row.interview_url));
      assert.deepEqual(claims.aud, "interview");
      assert.deepEqual(claims.is_test, true);
      assert.deepEqual(claims.profile_interview_id, row.profile_interview_id);
      assert.deepEqual(claims.merchant_id, SEED.parentMerchant);
      assert.deepEqual(claims.exp! - claims.iat!, 30 * 24 * 3600);
    }
    // Cancelled: an invitation this test queued on an earlier run against the same database.
    const emails = await sql`select kind, to_email from email_outbox
      where profile_interview_id = ${peter.profile_interview_id} and status <> 'cancelled'`;
    assert.deepEqual(emails.map((e) => e.kind), ["invitation"], "send_email: true queues the invitation");
  },
);

Deno.test(
  "the cookbook's curl body, sent verbatim with a seeded interview id, returns links and no email",
  async () => {
    const fixture = await createMerchant(sql);
    const token = await userToken(fixture.ownerId);
    const reply = await callFunction(server.functionsUrl, FN, {
      token,
      rawBody: `{
    "interview_id": "${fixture.interviewId}",
    "type": "url",
    "hide_menu": false,
    "users": [
      { "name": "Peter Parker", "email": "peter@parker.com", "external_id": "abcd" },
      { "name": "MJ Watson", "email": "mj@example.com" }
    ]
  }`,
    });
    assert.deepEqual(reply.status, 200);
    assert.deepEqual(reply.body.map((r: { result: string }) => r.result), ["ok", "ok"]);
    assert.deepEqual(Object.keys(reply.body[0]).sort(), [
      "email",
      "external_id",
      "interview_url",
      "name",
      "profile_interview_id",
      "result",
    ]);
    assert(!reply.body[0].interview_url.includes("view_hm"), "hide_menu false adds no view_hm");
    const footprint = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual(footprint, { profiles: 2, registrations: 2, tokens: 2, emails: 0, credits: 998 });
  },
);

Deno.test(
  "a mixed batch: each row succeeds or fails on its own, and failed rows write nothing",
  async () => {
    const fixture = await createMerchant(sql, { credits: 2 });
    const token = await userToken(fixture.ownerId);
    const reply = await register(token, {
      interview_id: fixture.interviewId,
      type: "invitation",
      users: [
        { name: "Ok One", email: "one@mixed.example", external_id: "e1", extra: { nested: true } },
        { name: "No Email" },
        { name: "Bad Email", email: "not-an-email" },
        { name: "Dup", email: "ONE@mixed.example" },
        { name: "Ok Two", email: "two@mixed.example" },
        { name: "No Credit", email: "three@mixed.example" },
        { name: 42, email: "badname@mixed.example" },
      ],
    });
    assert.deepEqual(reply.status, 200);
    assert.deepEqual(reply.body.map((r: { result: string }) => r.result), [
      "ok",
      "Error: Email is required",
      "Error: Invalid email",
      "Error: Duplicate email in request",
      "ok",
      "Error: Not enough interview credits",
      "Error: Invalid name",
    ]);
    assert.deepEqual(reply.body[0].extra, { nested: true }, "extra keys are echoed as given");
    assert.deepEqual(reply.body[6].name, 42, "a failed row is echoed as given");
    for (const failed of reply.body.filter((r: { result: string }) => r.result !== "ok")) {
      assert(!("interview_url" in failed) && !("profile_interview_id" in failed));
    }
    const profiles = await sql`select email, name, external_id from candidate_profiles
    where merchant_id = ${fixture.merchantId} order by email`;
    assert.deepEqual(profiles.map((p) => ({ ...p })), [
      { email: "one@mixed.example", name: "Ok One", external_id: "e1" },
      { email: "two@mixed.example", name: "Ok Two", external_id: null },
    ]);
    const footprint = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual(footprint, { profiles: 2, registrations: 2, tokens: 2, emails: 2, credits: 0 });
    const outbox = await sql`select to_email, kind, status, payload from email_outbox
    where merchant_id = ${fixture.merchantId} order by to_email`;
    assert.deepEqual(outbox.map((o) => [o.to_email, o.kind, o.status]), [
      ["one@mixed.example", "invitation", "pending"],
      ["two@mixed.example", "invitation", "pending"],
    ]);
    const [one] = outbox;
    const [token0] = await sql`select jti::text from interview_tokens where profile_interview_id = ${
      reply.body[0].profile_interview_id
    }`;
    assert.deepEqual(one.payload.jti, token0.jti, "the invitation knows which token's link to carry");
    assert.deepEqual(decodeJwt(tokenOf(reply.body[0].interview_url)).jti, token0.jti);
  },
);

Deno.test(
  "text PostgreSQL cannot store (NUL, an unpaired surrogate) fails its row only; extra keys carrying it are echoed",
  async () => {
    const fixture = await createMerchant(sql);
    const [first, last] = [
      `first-${crypto.randomUUID()}@nul.example`,
      `last-${crypto.randomUUID()}@nul.example`,
    ];
    const reply = await register(await userToken(fixture.ownerId), {
      interview_id: fixture.interviewId,
      type: "invitation",
      users: [
        { name: "First", email: first, "note\u0000": "echoed\u0000as given\ud800" },
        { name: "Nul\u0000Name", email: "nul-name@nul.example" },
        { name: "Nul External", email: "nul-external@nul.example", external_id: "ats\u0000" },
        { name: "Lone \ud800 Surrogate", email: "surrogate@nul.example" },
        { name: "Nul Email", email: "nul-email\u0000@nul.example" },
        { name: "Last", email: last },
      ],
    });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body.map((r: { result: string }) => r.result), [
      "ok",
      "Error: Invalid name: contains a NUL character or an unpaired surrogate",
      "Error: Invalid external_id: contains a NUL character or an unpaired surrogate",
      "Error: Invalid name: contains a NUL character or an unpaired surrogate",
      "Error: Invalid email",
      "ok",
    ]);
    assert.equal(reply.body[0]["note\u0000"], "echoed\u0000as given\ud800");
    const profiles =
      await sql`select email from candidate_profiles where merchant_id = ${fixture.merchantId}`;
    assert.deepEqual(profiles.map((p) => p.email).sort(), [first, last].sort());
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), {
      profiles: 2,
      registrations: 2,
      tokens: 2,
      emails: 2,
      credits: 998,
    });
  },
);

Deno.test(
  "profiles are found by case-insensitive email; null or missing fields keep stored values",
  async () => {
    const fixture = await createMerchant(sql);
    const token = await userToken(fixture.ownerId);
    const first = await register(token, {
      interview_id: fixture.interviewId,
      users: [{ name: "Ada", email: "Ada@Example.com", external_id: "x1" }],
    });
    const second = await register(token, {
      interview_id: await createInterview(sql, fixture.merchantId),
      users: [{ name: null, email: "ada@example.COM" }],
    });
    const third = await register(token, {
      interview_id: await createInterview(sql, fixture.merchantId),
      users: [{ name: "Ada L.", email: "ADA@example.com", external_id: "x2" }],
    });
    for (const reply of [first, second, third]) assert.deepEqual(reply.body[0].result, "ok");
    const profiles =
      await sql`select id, email, name, external_id from candidate_profiles where merchant_id = ${fixture.merchantId}`;
    assert.deepEqual(profiles.length, 1);
    assert.deepEqual({ name: profiles[0].name, external_id: profiles[0].external_id }, {
      name: "Ada L.",
      external_id: "x2",
    });
    const subs = [first, second, third].map((r) => decodeJwt(tokenOf(r.body[0].interview_url)).sub);
    assert.deepEqual(new Set(subs), new Set([profiles[0].id]));
  },
);

Deno.test(
  "an open registration is reused: same id, no new credit, and only the newest link works",
  async () => {
    const fixture = await createMerchant(sql, { credits: 5 });
    const token = await userToken(fixture.ownerId);
    const body = { interview_id: fixture.interviewId, users: [{ email: "again@example.com" }] };
    const first = await register(token, body);
    const second = await register(token, body);
    assert.deepEqual(second.body[0].profile_interview_id, first.body[0].profile_interview_id);
    assert.deepEqual(await credits(sql, fixture.merchantId), 4, "one credit for both");

    const oldLink = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(first.body[0].interview_url) },
    });
    assert.deepEqual(oldLink.status, 410);
    assert.match(oldLink.body.error, /newer link/);
    const newLink = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(second.body[0].interview_url) },
    });
    assert.deepEqual(newLink.status, 200);

    // A test registration is separate from the real one and costs nothing.
    const test = await register(token, { ...body, is_test: "TRUE" });
    assert(test.body[0].profile_interview_id !== first.body[0].profile_interview_id);
    assert.deepEqual(await credits(sql, fixture.merchantId), 4);

    // Once completed, the next registration is a new one and costs a credit.
    await sql`update profile_interviews set status = 'completed' where id = ${
      first.body[0].profile_interview_id
    }`;
    const after = await register(token, body);
    assert(after.body[0].profile_interview_id !== first.body[0].profile_interview_id);
    assert.deepEqual(await credits(sql, fixture.merchantId), 3);
  },
);

Deno.test(
  "a position id registers for the interview it points at and records the position",
  async () => {
    const token = await userToken(SEED.owner);
    const reply = await register(token, {
      interview_id: SEED.position,
      is_test: true,
      users: [{ email: `pos-${crypto.randomUUID()}@example.com` }],
    });
    assert.deepEqual(reply.body[0].result, "ok");
    assert(reply.body[0].interview_url.includes(`/interview/take/${SEED.activeInterview}/`));
    const [row] =
      await sql`select interview_id::text, position_id::text, is_test, credit_spent from profile_interviews
    where id = ${reply.body[0].profile_interview_id}`;
    assert.deepEqual({ ...row }, {
      interview_id: SEED.activeInterview,
      position_id: SEED.position,
      is_test: true,
      credit_spent: false,
    });
  },
);

Deno.test(
  "interview states: active and in date for everyone; draft only for tests; others a 422",
  async () => {
    const fixture = await createMerchant(sql);
    const token = await userToken(fixture.ownerId);
    const yesterday = new Date(Date.now() - 86400_000);
    const tomorrow = new Date(Date.now() + 86400_000);
    const cases: [string, Date | null, boolean, number][] = [
      ["active", null, false, 200],
      ["active", tomorrow, false, 200],
      ["active", yesterday, false, 422],
      ["draft", null, false, 422],
      ["draft", null, true, 200],
      ["archived", null, false, 422],
      ["archived", null, true, 422],
      ["deleted", null, true, 422],
      ["preparing", null, false, 422],
      ["completed", null, false, 422],
    ];
    for (const [status, availableTill, isTest, expected] of cases) {
      const interviewId = await createInterview(sql, fixture.merchantId, { status, availableTill });
      const reply = await register(token, {
        interview_id: interviewId,
        is_test: isTest,
        users: [{ email: "s@example.com" }],
      });
      assert.deepEqual(reply.status, expected, `${status} till ${availableTill} test ${isTest}`);
      if (expected === 422) {
        assert.deepEqual(reply.body, {
          error: "Interview is not available",
          name: "interview_id",
        });
      }
    }
  },
);

Deno.test("the merchant's own interview domain is the URL base", async () => {
  const fixture = await createMerchant(sql, { baseUrl: "https://interviews.acme.example/" });
  const reply = await register(await userToken(fixture.ownerId), {
    interview_id: fixture.interviewId,
    hide_iframe: "true",
    users: [{ email: "d@example.com" }],
  });
  assert.match(
    reply.body[0].interview_url,
    new RegExp(
      `^https://interviews\\.acme\\.example/interview/take/${fixture.interviewId}/\\?interview_token=[^&]+&view_hi=true$`,
    ),
  );
});

Deno.test('flags: only true or the string "true" (any case) count', async () => {
  const fixture = await createMerchant(sql);
  const token = await userToken(fixture.ownerId);
  for (
    const [value, expected] of [[true, true], ["True", true], ["yes", false], [false, false], [null, false], [
      "",
      false,
    ]]
  ) {
    const reply = await register(token, {
      interview_id: fixture.interviewId,
      hide_menu: value,
      users: [{ email: `flag-${crypto.randomUUID()}@example.com` }],
    });
    assert.deepEqual(
      reply.body[0].interview_url.includes("view_hm=true"),
      expected,
      `hide_menu ${JSON.stringify(value)}`,
    );
  }
});

Deno.test(
  "only queueing an email due now wakes the dispatchers (NOTIFY serializes commits)",
  async () => {
    const fixture = await createMerchant(sql);
    const token = await userToken(fixture.ownerId);
    const heard: string[] = [];
    const listener = await sql.listen("email_outbox", (payload) => heard.push(payload));
    try {
      await register(token, {
        interview_id: fixture.interviewId,
        type: "url",
        users: [{ email: "quiet@notify.example" }],
      });
      await register(token, {
        interview_id: fixture.interviewId,
        type: "invitation",
        users: [{ email: "loud@notify.example" }],
      });
      // A reminder for later, queued as recording a sent invitation queues it: the poll finds it.
      await sql`insert into email_outbox (merchant_id, profile_interview_id, kind, to_email, send_after)
        select merchant_id, id, 'reminder', 'loud@notify.example', now() + interval '2 days'
        from profile_interviews where merchant_id = ${fixture.merchantId}`;
      // Notifications arrive in commit order: once this one is heard, any earlier one has been too.
      await sql`select pg_notify('email_outbox', 'sentinel')`;
      await waitFor("the sentinel notification", () => heard.includes("sentinel"));
      assert.deepEqual(heard, ["", "sentinel"], "one wake-up: the invitation's");
    } finally {
      await listener.unlisten();
    }
  },
);

Deno.test(
  "a body nested deeper than the limit is a 422 that writes nothing (it used to commit, then fail as a 500)",
  async () => {
    const fixture = await createMerchant(sql);
    const token = await userToken(fixture.ownerId);
    const before = await merchantFootprint(sql, fixture.merchantId);
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const reply = await callFunction(server.functionsUrl, FN, {
      token,
      rawBody:
        `{"interview_id":"${fixture.interviewId}","users":[{"email":"deep@example.com","extra":${deep}}]}`,
    });
    assert.deepEqual(reply.status, 422);
    assert.deepEqual(reply.body, { error: `Request body nests deeper than ${MAX_JSON_DEPTH} levels` });
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  },
);
