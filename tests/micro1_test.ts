/**
 * micro1's POST /interview/invite as a drop-in, over real HTTP against the real database and a real
 * SMTP server: seed 004's example body, a client written from micro1's documentation alone, re-sends,
 * emails on and off, all-or-nothing failures and the envelope of every answer.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { SEED, userToken } from "./_support/credentials.ts";
import { linkInText, messagesTo, uniqueEmail } from "./_support/email.ts";
import { createMerchant, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { startTestServer } from "./_support/server.ts";
import { captureLogs } from "./_support/logs.ts";
import { micro1InviteApp } from "../supabase/functions/_shared/routes/micro1_invite.ts";
import { LOCAL_ACME_API_KEY } from "../supabase/functions/_shared/api_keys/key.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { fileEmailEnv } from "./_support/suite.ts";

const env = await fileEmailEnv();
const { server, sql, catcher } = env;

/**
 * A micro1 client as its documentation describes it: base URL + /interview/invite, the key in
 * x-api-key, JSON in and out; it reads `status`, `message` and `data.invitations`.
 */
async function micro1Invite(baseUrl: string, apiKey: string, body: unknown) {
  const res = await fetch(`${baseUrl}/interview/invite`, {
    method: "POST",
    headers: { "x-api-key": apiKey, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { httpStatus: res.status, ...(await res.json()) };
}

/** Seed 004's request schema, with each property's example. */
async function seedRequestExample(): Promise<Record<string, unknown>> {
  const text = await Deno.readTextFile(
    new URL("../../shared/seeds/004_f5d1f7eca8c5e3d0.txt", import.meta.url),
  );
  const doc = parse(text.split("````yaml")[1].split("\n").slice(1).join("\n").split("````")[0]);
  const ref = doc.paths["/interview/invite"].post.requestBody.content["application/json"].schema.$ref;
  const schema = doc.components.schemas[ref.split("/").pop()];
  return Object.fromEntries(
    Object.entries<{ example: unknown }>(schema.properties).map((
      [name, property],
    ) => [name, property.example]),
  );
}

/** A merchant of its own with a key (made by its owner through the API). */
async function merchantWithKey(options: { credits?: number } = {}) {
  const fixture = await createMerchant(sql, options);
  const created = await callFunction(server.functionsUrl, "api-keys", {
    token: await userToken(fixture.ownerId),
    body: { name: "micro1 migration" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { ...fixture, key: created.body.key as string };
}

Deno.test(
  "seed 004's example body, with the seeded interview id and key: the documented envelope",
  async () => {
    const example = await seedRequestExample();
    // Its candidate_id example names a candidate of micro1's; a re-send is tested on its own below.
    const body: Record<string, unknown> = { ...example, interview_id: SEED.activeInterview };
    delete body.candidate_id;
    assert.deepEqual(Object.keys(body).sort(), [
      "candidates",
      "disable_email_notification",
      "interview_id",
      "job_application_id",
    ]);
    const reply = await micro1Invite(server.functionsUrl, LOCAL_ACME_API_KEY, body);
    assert.equal(reply.httpStatus, 200, JSON.stringify(reply));
    assert.equal(reply.status, true);
    assert.equal(reply.message, "Invitations sent successfully");
    assert.deepEqual(Object.keys(reply.data), ["invitations"]);
    const [invitation] = reply.data.invitations;
    assert.deepEqual(Object.keys(invitation), ["candidate_id", "candidate_email", "invite_url"]);
    assert.equal(invitation.candidate_email, "candidate@example.com");
    const [profile] =
      await sql`select id, name, merchant_id from candidate_profiles where id = ${invitation.candidate_id}`;
    assert.deepEqual([profile.name, profile.merchant_id], ["John Doe", SEED.parentMerchant]);

    // job_application_id is kept on the registration and shown where the registration is.
    const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(invitation.invite_url) },
    });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    assert.equal(redeemed.body.job_application_id, example.job_application_id);
    assert.equal(redeemed.body.email, "candidate@example.com");
  },
);

Deno.test(
  "a client written from micro1's docs: invites, emails the link, re-sends by candidate_id",
  async () => {
    const fixture = await merchantWithKey();
    const [ann, bob] = [uniqueEmail("ann"), uniqueEmail("bob")];
    const first = await micro1Invite(server.functionsUrl, fixture.key, {
      interview_id: fixture.interviewId,
      candidates: [{ name: "Ann", email: ann }, { name: "Bob", email: bob }],
    });
    assert.equal(first.status, true, JSON.stringify(first));
    assert.deepEqual(first.data.invitations.map((i: { candidate_email: string }) => i.candidate_email), [
      ann,
      bob,
    ]);
    assert.equal(await credits(sql, fixture.merchantId), 998);
    const annFirst = first.data.invitations[0];

    await env.dispatchOnce();
    const [mail] = messagesTo(catcher.messages(), ann);
    assert.equal(linkInText(mail), annFirst.invite_url, "the email carries the link the API returned");

    const resent = await micro1Invite(server.functionsUrl, fixture.key, {
      interview_id: fixture.interviewId,
      candidate_id: annFirst.candidate_id,
    });
    assert.equal(resent.status, true, JSON.stringify(resent));
    assert.equal(resent.data.invitations.length, 1);
    assert.equal(resent.data.invitations[0].candidate_id, annFirst.candidate_id);
    assert.equal(resent.data.invitations[0].candidate_email, ann);
    assert.notEqual(resent.data.invitations[0].invite_url, annFirst.invite_url);
    assert.equal(await credits(sql, fixture.merchantId), 998, "the same registration: no credit");

    await env.dispatchOnce();
    const mails = messagesTo(catcher.messages(), ann);
    assert.equal(mails.length, 2, "a new email");
    assert.equal(linkInText(mails[1]), resent.data.invitations[0].invite_url);

    const redeem = (url: string) =>
      callFunction(server.functionsUrl, "interview-token-redeem", {
        body: { interview_token: tokenOf(url) },
      });
    const old = await redeem(annFirst.invite_url);
    assert.equal(old.status, 410, JSON.stringify(old.body));
    assert.match(old.body.error, /revoked/);
    assert.equal((await redeem(resent.data.invitations[0].invite_url)).status, 200);

    const unknown = await micro1Invite(server.functionsUrl, fixture.key, {
      interview_id: fixture.interviewId,
      candidate_id: crypto.randomUUID(),
    });
    assert.deepEqual([unknown.httpStatus, unknown.status, unknown.message], [
      400,
      false,
      "candidate_id: Candidate not found",
    ]);
  },
);

Deno.test(
  "disable_email_notification: links only, no email queued; by default the chain starts",
  async () => {
    const fixture = await merchantWithKey();
    const quiet = uniqueEmail("quiet");
    const loud = uniqueEmail("loud");
    const off = await micro1Invite(server.functionsUrl, fixture.key, {
      interview_id: fixture.interviewId,
      candidates: [{ name: "Quiet", email: quiet }],
      disable_email_notification: true,
    });
    assert.equal(off.status, true, JSON.stringify(off));
    assert.equal(off.message, "Invitations created; no email sent");
    const on = await micro1Invite(server.functionsUrl, fixture.key, {
      interview_id: fixture.interviewId,
      candidates: [{ name: "Loud", email: loud }],
    });
    assert.equal(on.status, true);
    const queued = await sql<{ to_email: string; kind: string }[]>`
    select to_email, kind::text from email_outbox where merchant_id = ${fixture.merchantId} order by to_email`;
    assert.deepEqual(queued.map((row) => [row.to_email, row.kind]), [[loud, "invitation"]]);
  },
);

Deno.test(
  "all or nothing: an invalid email or missing credits fails the request, names why, writes nothing",
  async (t) => {
    const fixture = await merchantWithKey({ credits: 1 });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["one invalid email among valid ones", {
        candidates: [{ name: "Ok", email: uniqueEmail("ok") }, { name: "Bad", email: "not-an-email" }],
      }, /^Nobody was invited: candidates\.1: Invalid email$/],
      ["a repeated email", {
        candidates: [{ name: "A", email: "Same@x.example" }, { name: "B", email: "same@x.example" }],
      }, /candidates\.1: Duplicate email in request/],
      ["one candidate more than the credits", {
        candidates: [{ name: "One", email: uniqueEmail("one") }, { name: "Two", email: uniqueEmail("two") }],
      }, /Not enough interview credits/],
      ["no candidates", { candidates: [] }, /^candidates: At least one candidate is required$/],
      ["a candidate without a name", { candidates: [{ email: uniqueEmail("x") }] }, /^candidates\.0\.name: /],
      ["both candidates and candidate_id", {
        candidates: [{ name: "X", email: uniqueEmail("x") }],
        candidate_id: crypto.randomUUID(),
      }, /^candidate_id: /],
      [
        "interview_id missing",
        { interview_id: undefined, candidates: [] },
        /^interview_id: Field is required\.$/,
      ],
      ["interview_id not a UUID", { interview_id: "abc" }, /^interview_id: Must be a UUID$/],
      [
        "an interview of no merchant of the key's",
        { interview_id: crypto.randomUUID() },
        /^interview_id: Interview not found$/,
      ],
    ];
    for (const [name, extra, message] of cases) {
      await t.step(name, async () => {
        const before = await merchantFootprint(sql, fixture.merchantId);
        const reply = await micro1Invite(server.functionsUrl, fixture.key, {
          interview_id: fixture.interviewId,
          candidates: [{ name: "Default", email: uniqueEmail("d") }],
          ...extra,
        });
        assert.equal(reply.httpStatus, 400, JSON.stringify(reply));
        assert.equal(reply.status, false);
        assert.match(reply.message, message);
        assert.deepEqual(Object.keys(reply).sort(), ["httpStatus", "message", "status"]);
        assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
      });
    }
    await t.step("the one credit still serves one candidate", async () => {
      const reply = await micro1Invite(server.functionsUrl, fixture.key, {
        interview_id: fixture.interviewId,
        candidates: [{ name: "Last", email: uniqueEmail("last") }],
      });
      assert.equal(reply.status, true, JSON.stringify(reply));
      assert.equal(await credits(sql, fixture.merchantId), 0);
    });
  },
);

Deno.test("the envelope for credentials, bodies and faults", async (t) => {
  const fixture = await merchantWithKey();
  const body = { interview_id: fixture.interviewId, candidates: [{ name: "E", email: uniqueEmail("e") }] };
  await t.step("no key: 401", async () => {
    const reply = await callFunction(server.functionsUrl, "interview/invite", { body });
    assert.equal(reply.status, 401);
    assert.equal(reply.body.status, false);
    assert.match(reply.body.message, /Missing credential/);
  });
  await t.step("a wrong key: 401", async () => {
    const reply = await micro1Invite(server.functionsUrl, `jmk_${"b".repeat(43)}`, body);
    assert.deepEqual([reply.httpStatus, reply.status, reply.message], [401, false, "Invalid API key"]);
  });
  await t.step("a key of another merchant naming this one: 403, nothing written", async () => {
    const other = await merchantWithKey();
    const before = await merchantFootprint(sql, fixture.merchantId);
    const reply = await micro1Invite(server.functionsUrl, other.key, {
      ...body,
      merchant_id: fixture.merchantId,
    });
    assert.deepEqual([reply.httpStatus, reply.status], [403, false]);
    assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
  });
  await t.step("the service key names the merchant", async () => {
    const reply = await micro1Invite(server.functionsUrl, LOCAL_SECRET_KEY, {
      ...body,
      merchant_id: fixture.merchantId,
    });
    assert.equal(reply.status, true, JSON.stringify(reply));
  });
  await t.step("not JSON: 400", async () => {
    const reply = await callFunction(server.functionsUrl, "interview/invite", {
      headers: { "x-api-key": fixture.key },
      rawBody: "{",
    });
    assert.deepEqual([reply.status, reply.body], [400, {
      status: false,
      message: "Request body must be valid JSON",
    }]);
  });
  await t.step("wrong method: 405 in the envelope", async () => {
    const reply = await callFunction(server.functionsUrl, "interview/invite", { method: "GET" });
    assert.deepEqual([reply.status, reply.body.status], [405, false]);
  });
  await t.step(
    "an unexpected fault: 500 in the envelope, with the request id that is in the log",
    async () => {
      const app = micro1InviteApp(server.runtime);
      app.post("/fault", () => {
        throw new Error("secret detail of a fault");
      });
      await using faulty = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, app.fetch);
      const { result: res, lines } = await captureLogs(() =>
        fetch(`http://127.0.0.1:${faulty.addr.port}/interview/fault`, { method: "POST" })
      );
      const reply = await res.json();
      assert.equal(res.status, 500);
      assert.deepEqual(Object.keys(reply).sort(), ["message", "request_id", "status"]);
      assert.deepEqual([reply.status, reply.message], [false, "Internal server error"]);
      assert.ok(
        lines.some((line) => line.includes(reply.request_id) && line.includes("secret detail of a fault")),
      );
    },
  );
  await t.step("the database unreachable: 503 with Retry-After, in the envelope", async () => {
    await using down = await startTestServer({
      databaseUrl: "postgresql://postgres:postgres@127.0.0.1:9/none",
    });
    const reply = await callFunction(down.functionsUrl, "interview/invite", {
      headers: { "x-api-key": fixture.key },
      body,
    });
    assert.deepEqual([reply.status, reply.body.status], [503, false], JSON.stringify(reply.body));
    assert.ok(reply.body.message);
    assert.ok(reply.headers.get("retry-after"));
  });
});

Deno.test(
  "all or nothing under a race for the last credits: whole requests only, never a credit too many",
  async () => {
    const fixture = await merchantWithKey({ credits: 7 });
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        micro1Invite(server.functionsUrl, fixture.key, {
          interview_id: fixture.interviewId,
          candidates: [{ name: "A", email: uniqueEmail(`race${i}a`) }, {
            name: "B",
            email: uniqueEmail(`race${i}b`),
          }],
          disable_email_notification: i % 2 === 0,
        })),
    );
    const succeeded = replies.filter((reply) => reply.status === true);
    for (const reply of replies) {
      if (reply.status === true) assert.equal(reply.data.invitations.length, 2);
      else {assert.deepEqual([reply.httpStatus, reply.message], [
          400,
          "Not enough interview credits for every candidate: nobody was invited",
        ]);}
    }
    assert.equal(succeeded.length, 3, "7 credits pay for 3 requests of 2");
    assert.equal(await credits(sql, fixture.merchantId), 1);
    const footprint = await merchantFootprint(sql, fixture.merchantId);
    assert.deepEqual([footprint.profiles, footprint.registrations, footprint.tokens], [6, 6, 6]);
  },
);
