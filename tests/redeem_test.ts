import assert from "node:assert/strict";
import { decodeJwt, SignJWT } from "jose";
import { userToken } from "./_support/credentials.ts";
import { createInterview, createMerchant } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { LOCAL_JWT_SECRET } from "../supabase/functions/_shared/config.ts";
import {
  type InterviewTokenClaims,
  interviewTokenKey,
  mintInterviewToken,
} from "../supabase/functions/_shared/interviews/token.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer({ interviewTokenTtlSeconds: 3600 });
const { sql } = server.runtime;

async function registerOne(
  merchant: { ownerId: string },
  interviewId: string,
  extra: Record<string, unknown> = {},
) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: await userToken(merchant.ownerId),
    body: {
      interview_id: interviewId,
      users: [{ name: "Cand <b>", email: `c-${crypto.randomUUID()}@redeem.example`, external_id: "ext" }],
      ...extra,
    },
  });
  assert.deepEqual(reply.body[0].result, "ok");
  return reply.body[0] as { email: string; interview_url: string; profile_interview_id: string };
}
const redeem = async (token: string) =>
  await callFunction(server.functionsUrl, "interview-token-redeem", { body: { interview_token: token } });

Deno.test(
  "redeeming a link returns the registration, spends the token, starts the registration, cancels reminders",
  async () => {
    const fixture = await createMerchant(sql);
    const row = await registerOne(fixture, fixture.interviewId, { type: "invitation" });
    await sql`insert into email_outbox (merchant_id, profile_interview_id, kind, to_email, send_after)
    values (${fixture.merchantId}, ${row.profile_interview_id}, 'reminder', ${row.email}, now() + interval '2 days')`;
    const reply = await redeem(tokenOf(row.interview_url));
    assert.deepEqual(reply.status, 200);
    assert.deepEqual(reply.body.profile_interview_id, row.profile_interview_id);
    assert.deepEqual(reply.body.interview_id, fixture.interviewId);
    assert.deepEqual(reply.body.merchant_id, fixture.merchantId);
    assert.deepEqual([reply.body.name, reply.body.email, reply.body.external_id, reply.body.is_test], [
      "Cand <b>",
      row.email,
      "ext",
      false,
    ]);
    assert.deepEqual(reply.body.status, "started");
    const [registration] =
      await sql`select status, started_at from profile_interviews where id = ${row.profile_interview_id}`;
    assert.deepEqual(registration.status, "started");
    const outbox =
      await sql`select kind, status from email_outbox where profile_interview_id = ${row.profile_interview_id} order by kind`;
    assert.deepEqual(outbox.map((o) => [o.kind, o.status]), [["invitation", "pending"], [
      "reminder",
      "cancelled",
    ]]);

    const again = await redeem(tokenOf(row.interview_url));
    assert.deepEqual(again.status, 410);
    assert.deepEqual(again.body, { error: "Interview token already used", name: "interview_token" });
  },
);

Deno.test("401 for a malformed, foreign or tampered token; 422 without one", async () => {
  const fixture = await createMerchant(sql);
  const row = await registerOne(fixture, fixture.interviewId);
  const token = tokenOf(row.interview_url);
  const [header, payload, signature] = token.split(".");
  const tampered = `${header}.${
    btoa(
      JSON.stringify({ ...JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))), is_test: true }),
    ).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_")
  }.${signature}`;
  // A Supabase user JWT is not an interview token: wrong secret and audience.
  const foreign = await userToken(fixture.ownerId);
  const sameSecretWrongAudience = await new SignJWT({ profile_interview_id: row.profile_interview_id })
    .setProtectedHeader({ alg: "HS256" }).setAudience("authenticated").setJti(crypto.randomUUID()).setSubject(
      "x",
    )
    .setIssuedAt().setExpirationTime("1h").sign(new TextEncoder().encode(LOCAL_JWT_SECRET));
  for (const bad of ["nonsense", tampered, foreign, sameSecretWrongAudience]) {
    const reply = await redeem(bad);
    assert.deepEqual(reply.status, 401, bad);
    assert.deepEqual(reply.body, { error: "Invalid interview token", name: "interview_token" });
  }
  const missing = await callFunction(server.functionsUrl, "interview-token-redeem", { body: {} });
  assert.deepEqual(missing.status, 422);
  assert.deepEqual(missing.body, { error: "Field is required.", name: "interview_token" });
  assert.deepEqual((await redeem(token)).status, 200, "the genuine token still works");
});

Deno.test(
  "410 for an expired token: by its exp claim, and by the expiry the database keeps",
  async () => {
    const fixture = await createMerchant(sql);
    const row = await registerOne(fixture, fixture.interviewId);
    const claims = decodeJwt(tokenOf(row.interview_url)) as unknown as InterviewTokenClaims;
    const key = await interviewTokenKey(server.runtime.config.interviewTokenSecret);
    const now = Math.floor(Date.now() / 1000);
    const byClaim = await redeem(mintInterviewToken(key, { ...claims, iat: now - 120, exp: now - 60 }));
    assert.equal(byClaim.status, 410);
    assert.equal(byClaim.body.error, "Interview token expired");

    await sql`update interview_tokens set issued_at = now() - interval '2 minutes', expires_at = now() - interval '1 minute'
    where jti = ${claims.jti}`;
    const byDatabase = await redeem(tokenOf(row.interview_url));
    assert.equal(byDatabase.status, 410);
    assert.equal(byDatabase.body.error, "Interview token expired");
  },
);

Deno.test(
  "409 when the interview closed after the link was sent; test links follow the test rules",
  async () => {
    const fixture = await createMerchant(sql);
    const real = await registerOne(fixture, fixture.interviewId);
    await sql`update interviews set status = 'archived' where id = ${fixture.interviewId}`;
    const closed = await redeem(tokenOf(real.interview_url));
    assert.deepEqual(closed.status, 409);
    assert.match(closed.body.error, /no longer available/);

    const draft = await createInterview(sql, fixture.merchantId, { status: "draft" });
    const test = await registerOne(fixture, draft, { is_test: true });
    assert.deepEqual((await redeem(tokenOf(test.interview_url))).status, 200, "a test link takes a draft");

    const dated = await createInterview(sql, fixture.merchantId, {
      availableTill: new Date(Date.now() + 60_000),
    });
    const late = await registerOne(fixture, dated);
    await sql`update interviews set interview_available_till = now() - interval '1 minute' where id = ${dated}`;
    assert.deepEqual((await redeem(tokenOf(late.interview_url))).status, 409, "past its date");
  },
);

Deno.test(
  "a minted interview token is byte for byte the token jose signs over the same claims",
  async () => {
    const { interviewTokenKey, mintInterviewToken } = await import(
      "../supabase/functions/_shared/interviews/token.ts"
    );
    const secret = server.runtime.config.interviewTokenSecret;
    const key = await interviewTokenKey(secret);
    for (const isTest of [true, false]) {
      const claims = {
        jti: crypto.randomUUID(),
        sub: crypto.randomUUID(),
        iat: 1795300000,
        exp: 1797892000,
        profile_interview_id: crypto.randomUUID(),
        interview_id: crypto.randomUUID(),
        merchant_id: crypto.randomUUID(),
        is_test: isTest,
      };
      const byJose = await new SignJWT({
        profile_interview_id: claims.profile_interview_id,
        interview_id: claims.interview_id,
        merchant_id: claims.merchant_id,
        is_test: claims.is_test,
      })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setAudience("interview")
        .setSubject(claims.sub)
        .setJti(claims.jti)
        .setIssuedAt(claims.iat)
        .setExpirationTime(claims.exp)
        .sign(new TextEncoder().encode(secret));
      assert.equal(mintInterviewToken(key, claims), byJose);
    }
  },
);
