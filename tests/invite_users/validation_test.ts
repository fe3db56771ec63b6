/** invite-users: bad input: the documented 422s, and text PostgreSQL cannot store. */
import assert from "node:assert/strict";
import { MOJITO_LANGUAGE_CODES } from "../../supabase/functions/_shared/schemas.ts";
import { SEED, userToken } from "../_support/credentials.ts";
import { uniqueEmail } from "../_support/email.ts";
import { createMerchant, merchantFootprint } from "../_support/fixtures.ts";
import { inviteUsersSuite, type Row } from "./_invite_users.ts";

const { sql, invite } = await inviteUsersSuite();

Deno.test(
  "text PostgreSQL cannot store (NUL, an unpaired surrogate): a 422 for the message, the row alone for a row's field",
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const candidate = (email: string, fields: Row = {}) => ({
      email,
      type: "candidate",
      interview_id: fixture.interviewId,
      ...fields,
    });
    const before = await merchantFootprint(sql, fixture.merchantId);
    const invitations = async () =>
      (await sql`select email from merchant_invitations where merchant_id = ${fixture.merchantId}`)
        .map((r) => r.email).sort();
    for (const message of ["Hello\u0000", "Hello \udc00"]) {
      const reply = await invite(owner, {
        users: [candidate(uniqueEmail("c")), { email: uniqueEmail("m"), type: "mentor" }],
        message_from_recruiter: message,
      });
      assert.equal(reply.status, 422);
      assert.deepEqual(reply.body, {
        error: "Contains a NUL character or an unpaired surrogate",
        name: "message_from_recruiter",
      });
    }
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
    assert.deepEqual(await invitations(), []);

    const ok = { candidate: uniqueEmail("ok-candidate"), mentor: uniqueEmail("ok-mentor") };
    const reply = await invite(owner, {
      users: [
        candidate(ok.candidate, { "extra\u0000": "kept\u0000" }),
        candidate(uniqueEmail("nul-candidate"), { name: "C\u0000" }),
        candidate(uniqueEmail("nul-external"), { external_id: "\ud800" }),
        { email: ok.mentor, type: "mentor", "extra\u0000": "kept\u0000" },
        { email: uniqueEmail("nul-mentor"), name: "M\u0000", type: "mentor" },
        { email: uniqueEmail("surrogate-mentor"), name: "M \ud800", type: "merchant" },
      ],
    });
    assert.equal(reply.status, 200);
    const unstorable = "contains a NUL character or an unpaired surrogate";
    assert.deepEqual(reply.body.map((r) => r.result), [
      "Invited",
      `Error: Invalid name: ${unstorable}`,
      `Error: Invalid external_id: ${unstorable}`,
      "Invited",
      `Error: Invalid name: ${unstorable}`,
      `Error: Invalid name: ${unstorable}`,
    ]);
    assert.equal(reply.body[0]["extra\u0000"], "kept\u0000");
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), {
      ...before,
      profiles: before.profiles + 1,
      registrations: before.registrations + 1,
      tokens: before.tokens + 1,
      emails: before.emails + 2,
      credits: before.credits - 1,
    });
    assert.deepEqual(await invitations(), [ok.mentor]);
  },
);

Deno.test("request validation: the documented 422s", async () => {
  const owner = await userToken(SEED.owner);
  const user = { email: uniqueEmail("v"), type: "user" };
  const cases: [unknown, { error: string; name?: string }][] = [
    [{}, { error: "Field is required.", name: "users" }],
    [{ users: [] }, { error: "At least one user is required", name: "users" }],
    [{ users: "x" }, { error: "Must be an array of objects", name: "users" }],
    [{ users: [user], mojito_language_code: "xx" }, {
      error: `Must be one of: ${MOJITO_LANGUAGE_CODES.join(", ")}`,
      name: "mojito_language_code",
    }],
    [{ users: [user], message_from_recruiter: "x".repeat(2001) }, {
      error: "At most 2000 characters",
      name: "message_from_recruiter",
    }],
    [{ users: [user], message_from_recruiter: 5 }, {
      error: "Must be a string",
      name: "message_from_recruiter",
    }],
    [{ users: [user], merchant_id: "nope" }, { error: "Must be a UUID", name: "merchant_id" }],
  ];
  for (const [body, expected] of cases) {
    const reply = await invite(owner, body);
    assert.equal(reply.status, 422, JSON.stringify(body).slice(0, 80));
    assert.deepEqual(reply.body, expected);
  }
  assert.equal(MOJITO_LANGUAGE_CODES.length, 34);
  for (const code of MOJITO_LANGUAGE_CODES) {
    const reply = await invite(owner, { users: [{ email: "x", type: "user" }], mojito_language_code: code });
    assert.equal(reply.status, 200, code);
  }
});
