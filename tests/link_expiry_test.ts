/**
 * link_expires_at over real HTTP, the real database and a real SMTP server: a request's own link expiry is
 * signed into the token, kept by the database, shown by the status read and written in the invitation
 * email; out of bounds it is a 422 that writes nothing.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { userToken } from "./_support/credentials.ts";
import { linkInText, messagesTo, startEmailTestEnv, uniqueEmail } from "./_support/email.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";

const env = await startEmailTestEnv();
const { server, sql, catcher } = env;
const opts = { sanitizeOps: false, sanitizeResources: false };

/** A whole second `days` days from now, as the API is given it and as the token carries it. */
function inDays(days: number): { iso: string; epoch: number } {
  const epoch = Math.floor(Date.now() / 1000) + Math.round(days * 86400);
  return { iso: new Date(epoch * 1000).toISOString(), epoch };
}

Deno.test(
  "register-users: the token's exp, the stored expiry, the status read and the email all say it",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const expiry = inDays(3);
    const address = uniqueEmail("expiry");
    const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: owner,
      body: {
        interview_id: fixture.interviewId,
        type: "invitation",
        link_expires_at: expiry.iso,
        users: [{ email: address }],
      },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const [row] = reply.body;
    assert.equal(decodeJwt(tokenOf(row.interview_url)).exp, expiry.epoch);
    const [stored] =
      await sql`select expires_at from interview_tokens where profile_interview_id = ${row.profile_interview_id}`;
    assert.equal(stored.expires_at.getTime(), expiry.epoch * 1000);
    const read = await callFunction(server.functionsUrl, `registrations/${row.profile_interview_id}`, {
      token: owner,
      method: "GET",
    });
    assert.equal(new Date(read.body.link_expires_at).getTime(), expiry.epoch * 1000);

    await env.dispatchOnce();
    const [message] = messagesTo(catcher.messages(), address);
    assert.ok(message, "the invitation was delivered");
    assert.equal(linkInText(message), row.interview_url);
    const written = new Intl.DateTimeFormat("en", { dateStyle: "long", timeZone: "UTC" }).format(
      new Date(expiry.epoch * 1000),
    );
    assert.ok(message.parsed.text?.includes(written), `the email says ${written}`);
  },
);

Deno.test("invite-users, micro1's invite and job-interview-token take it too", opts, async () => {
  const fixture = await createMerchant(sql);
  const expiry = inDays(10);
  const invited = await callFunction(server.functionsUrl, "invite-users", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: fixture.merchantId,
      link_expires_at: expiry.iso,
      users: [{ email: "inv@example.com", type: "candidate", interview_id: fixture.interviewId }],
    },
  });
  assert.equal(invited.status, 200, JSON.stringify(invited.body));
  const [token] = await sql`select expires_at from interview_tokens
    where profile_interview_id = ${invited.body[0].profile_interview_id}`;
  assert.equal(token.expires_at.getTime(), expiry.epoch * 1000);

  const micro1 = await callFunction(server.functionsUrl, "interview/invite", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      link_expires_at: expiry.iso,
      candidates: [{ name: "Mo", email: "mo@example.com" }],
    },
  });
  assert.equal(micro1.status, 200, JSON.stringify(micro1.body));
  const [invitation] = micro1.body.data.invitations;
  assert.equal(decodeJwt(tokenOf(invitation.invite_url)).exp, expiry.epoch);

  const later = inDays(20);
  const link = await callFunction(server.functionsUrl, "job-interview-token", {
    token: LOCAL_SECRET_KEY,
    body: {
      type: "interview-for-profile",
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      interview_profile_id: invitation.candidate_id,
      link_expires_at: later.iso,
    },
  });
  assert.equal(link.status, 200, JSON.stringify(link.body));
  assert.equal(decodeJwt(tokenOf(link.body)).exp, later.epoch);
});

Deno.test(
  "out of bounds: past, under a minute, beyond the maximum or not a date is a 422, nothing written",
  opts,
  async () => {
    const fixture = await createMerchant(sql);
    const owner = await userToken(fixture.ownerId);
    const before = await merchantFootprint(sql, fixture.merchantId);
    for (
      const [value, error] of [
        [inDays(-1).iso, "Must be at least a minute in the future"],
        [inDays(20 / 86400).iso, "Must be at least a minute in the future"],
        [inDays(91).iso, "Must be at most 90 days ahead"],
        ["tomorrow", "Must be an ISO 8601 date-time with a time zone"],
        ["2030-01-01T00:00:00", "Must be an ISO 8601 date-time with a time zone"],
      ]
    ) {
      for (
        const [name, body] of [
          ["job-interview-register-users", {
            interview_id: fixture.interviewId,
            users: [{ email: "x@example.com" }],
          }],
          ["invite-users", {
            users: [{ email: "x@example.com", type: "candidate", interview_id: fixture.interviewId }],
          }],
        ] as const
      ) {
        const reply = await callFunction(server.functionsUrl, name, {
          token: owner,
          body: { ...body, link_expires_at: value },
        });
        assert.deepEqual(
          [reply.status, reply.body],
          [422, { error, name: "link_expires_at" }],
          `${name} ${value}`,
        );
      }
    }
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
    const longest = await callFunction(server.functionsUrl, "job-interview-register-users", {
      token: owner,
      body: {
        interview_id: fixture.interviewId,
        link_expires_at: inDays(89).iso,
        users: [{ email: "y@example.com" }],
      },
    });
    assert.equal(longest.status, 200);
  },
);

addEventListener("unload", () => env.close());
