/**
 * Webhooks end to end against a real HTTP receiver on loopback: events written with the change that
 * causes them (and never for one rolled back), signed so that the Standard Webhooks library and Svix's
 * verifier both accept them, retried with the same webhook-id until a 2xx, nothing lost while a receiver
 * is down, exactly once with several dispatchers, rotation, redirects, timeouts and auto-disable.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { startWebhookWorker } from "../supabase/functions/_shared/webhooks/worker.ts";
import { userToken } from "./_support/credentials.ts";
import { messagesTo, waitFor } from "./_support/email.ts";
import { createMerchant, type MerchantFixture } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { fileEmailEnv } from "./_support/suite.ts";
import {
  createEndpoint,
  deliveriesOf,
  LOOPBACK_ONLY,
  newSecret,
  type Received,
  startReceiver,
  verifies,
  verify,
  webhookDispatcher,
} from "./_support/webhooks.ts";

const env = await fileEmailEnv({ reminderScheduleSeconds: [] });
const { sql, server } = env;
const runtime = server.runtime;

const ALL_TYPES = [
  "registration.created",
  "registration.started",
  "registration.completed",
  "registration.cancelled",
  "email.delivered",
  "email.failed",
  "invitation.accepted",
];

/** Registers candidates over HTTP (type url unless said), asserting each row is ok. */
async function register(
  fixture: Pick<MerchantFixture, "merchantId" | "interviewId">,
  users: { email: string; external_id?: string; name?: string }[],
  extra: Record<string, unknown> = {},
) {
  const reply = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      type: "url",
      users,
      ...extra,
    },
  });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.ok(reply.body.every((row: { result: string }) => row.result === "ok"), JSON.stringify(reply.body));
  return reply.body as {
    email: string;
    profile_id: string;
    profile_interview_id: string;
    interview_url: string;
  }[];
}

/** Runs one dispatcher until nothing is due. */
function dispatchOnce(overrides = {}) {
  return webhookDispatcher(runtime, overrides).dispatch();
}

Deno.test(
  "register, redeem, complete: three signed events, each delivered once, verified by both libraries",
  async () => {
    await using receiver = startReceiver();
    const fixture = await createMerchant(sql);
    const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, [
      "registration.created",
      "registration.started",
      "registration.completed",
    ]);
    const [row] = await register(fixture, [{
      email: "ada@candidates.example",
      external_id: "ats-42",
      name: "Ada",
    }]);
    // A change that is not a status change announces nothing.
    await sql`update profile_interviews set job_application_id = 'JA-7' where id = ${row.profile_interview_id}`;

    await dispatchOnce();
    assert.deepEqual(receiver.received.map((r) => r.json.type), ["registration.created"]);

    const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(row.interview_url) },
    });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    // Redeeming again is refused: no second registration.started.
    const again = await callFunction(server.functionsUrl, "interview-token-redeem", {
      body: { interview_token: tokenOf(row.interview_url) },
    });
    assert.equal(again.status, 410);
    await dispatchOnce();

    const completed = await callFunction(server.functionsUrl, "interview-complete", {
      token: LOCAL_SECRET_KEY,
      body: { profile_interview_id: row.profile_interview_id },
    });
    assert.equal(completed.status, 200, JSON.stringify(completed.body));
    // Reported twice: still one event.
    await callFunction(server.functionsUrl, "interview-complete", {
      token: LOCAL_SECRET_KEY,
      body: { profile_interview_id: row.profile_interview_id },
    });
    await dispatchOnce();
    await dispatchOnce();

    assert.deepEqual(receiver.received.map((r) => r.json.type), [
      "registration.created",
      "registration.started",
      "registration.completed",
    ]);
    const [created, started, done] = receiver.received;
    const [{ profile_id: profileId }] = await sql`select profile_id from profile_interviews
      where id = ${row.profile_interview_id}`;
    for (const request of receiver.received) {
      const payload = verify(request, endpoint.secret) as Record<string, unknown>;
      assert.deepEqual(payload, request.json);
      assert.equal(request.headers.get("content-type"), "application/json");
      assert.deepEqual(Object.keys(request.json).sort(), ["data", "timestamp", "type"]);
      assert.equal(request.json.data.event_id, request.id, "the body names the event the webhook-id is");
      assert.match(request.json.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(!verifies(request, newSecret()), "another secret does not verify");
    }
    assert.equal(new Set(receiver.received.map((r) => r.id)).size, 3);
    assert.deepEqual(
      {
        ...done.json.data,
        event_id: undefined,
        created_at: undefined,
        started_at: undefined,
        completed_at: undefined,
      },
      {
        event_id: undefined,
        merchant_id: fixture.merchantId,
        profile_interview_id: row.profile_interview_id,
        profile_id: profileId,
        email: "ada@candidates.example",
        name: "Ada",
        external_id: "ats-42",
        interview_id: fixture.interviewId,
        interview_name: "Fixture interview",
        position_id: null,
        position_name: null,
        job_application_id: "JA-7",
        is_test: false,
        status: "completed",
        created_at: undefined,
        started_at: undefined,
        completed_at: undefined,
        cancelled_at: null,
      },
    );
    assert.equal(created.json.data.status, "registered");
    assert.equal(started.json.data.status, "started");
    assert.ok(started.json.data.started_at && done.json.data.completed_at);

    const rows = await deliveriesOf(sql, endpoint.id);
    assert.deepEqual(rows.map((r) => [r.type, r.status, r.attempts, r.last_response_status]), [
      ["registration.created", "delivered", 1, 200],
      ["registration.started", "delivered", 1, 200],
      ["registration.completed", "delivered", 1, 200],
    ]);
  },
);

Deno.test("an event of a change that rolled back is never written, so never sent", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ALL_TYPES);
  // A dry run registers for real and rolls back.
  const dry = await callFunction(server.functionsUrl, "job-interview-register-users", {
    token: LOCAL_SECRET_KEY,
    body: {
      merchant_id: fixture.merchantId,
      interview_id: fixture.interviewId,
      users: [{ email: "dry@candidates.example" }],
      dry_run: true,
    },
  });
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  // A transaction that changes a registration's status and rolls back.
  const [row] = await register(fixture, [{ email: "rolled@candidates.example" }]);
  await assert.rejects(
    sql.begin(async (tx) => {
      await tx`update profile_interviews set status = 'cancelled', cancelled_at = now()
        where id = ${row.profile_interview_id}`;
      const [{ count }] = await tx`select count(*)::int from webhook_events
        where merchant_id = ${fixture.merchantId} and type = 'registration.cancelled'`;
      assert.equal(count, 1, "written inside the transaction");
      throw new Error("roll back");
    }),
    /roll back/,
  );
  await dispatchOnce();
  assert.deepEqual(receiver.received.map((r) => [r.json.type, r.json.data.email]), [
    ["registration.created", "rolled@candidates.example"],
  ]);
  const events = await sql`select type from webhook_events where merchant_id = ${fixture.merchantId}`;
  assert.deepEqual(events.map((e) => e.type), ["registration.created"]);
  assert.equal((await deliveriesOf(sql, endpoint.id)).length, 1);
});

Deno.test("a merchant without an enabled endpoint for the type gets no event at all", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  const other = await createMerchant(sql);
  await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.completed"]);
  await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"], { enabled: false });
  await createEndpoint(sql, other.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "nobody-listens@candidates.example" }]);
  const [{ count }] =
    await sql`select count(*)::int from webhook_events where merchant_id = ${fixture.merchantId}`;
  assert.equal(count, 0, "no endpoint wants registration.created: nothing written");
  await dispatchOnce();
  assert.equal(receiver.received.length, 0, "another merchant's endpoint hears nothing of it");
});

Deno.test("a receiver answering 500 twice, then 200: the same webhook-id three times, then delivered", async () => {
  await using receiver = startReceiver((_, i) =>
    i < 2 ? { status: 500, body: `down ${"x".repeat(2000)}` } : { status: 204 }
  );
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "retry@candidates.example" }]);

  const summary = await dispatchOnce();
  assert.ok(summary.retried >= 2 && summary.sent >= 1, JSON.stringify(summary));
  assert.equal(receiver.received.length, 3);
  assert.equal(new Set(receiver.received.map((r) => r.id)).size, 1, "one webhook-id");
  assert.equal(new Set(receiver.received.map((r) => r.body)).size, 1, "the same body");
  for (const request of receiver.received) verify(request, endpoint.secret);
  const [delivery] = await deliveriesOf(sql, endpoint.id);
  assert.equal(delivery.status, "delivered");
  assert.equal(delivery.attempts, 3);
  assert.equal(delivery.last_response_status, 204);
  assert.equal(delivery.last_error, null);
  const [{ failing_since }] =
    await sql`select failing_since from webhook_endpoints where id = ${endpoint.id}`;
  assert.equal(failing_since, null, "a success ends the failing streak");
});

Deno.test("a failed attempt keeps the receiver's status and the first 1,024 characters of its body", async () => {
  await using receiver = startReceiver(() => ({ status: 503, body: "é".repeat(3000) }));
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "truncated@candidates.example" }]);
  await dispatchOnce({ maxAttempts: 2 });
  const [delivery] = await deliveriesOf(sql, endpoint.id);
  assert.equal(delivery.status, "failed");
  assert.equal(delivery.attempts, 2);
  assert.equal(delivery.last_response_status, 503);
  assert.equal(delivery.last_response_body, "é".repeat(1024));
  assert.equal(delivery.last_error, "HTTP 503");
});

Deno.test("redirects are not followed: a 3xx is a failed attempt", async () => {
  await using target = startReceiver();
  await using receiver = startReceiver(() => ({ status: 307, headers: { location: target.url } }));
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "redirected@candidates.example" }]);
  await dispatchOnce({ maxAttempts: 1 });
  assert.equal(receiver.received.length, 1);
  assert.equal(target.received.length, 0, "the redirect's target heard nothing");
  const [delivery] = await deliveriesOf(sql, endpoint.id);
  assert.equal(delivery.status, "failed");
  assert.equal(delivery.last_response_status, 307);
  assert.match(delivery.last_error!, /redirect to http:\/\/127\.0\.0\.1:\d+\/hooks not followed/);
});

Deno.test("a receiver slower than the timeout: the attempt fails and is retried", async () => {
  const slow = Promise.withResolvers<void>();
  await using receiver = startReceiver((_, i) =>
    i === 0 ? { status: 200, wait: slow.promise } : { status: 200 }
  );
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "slow@candidates.example" }]);
  try {
    await dispatchOnce({ sendTimeoutMs: 300 });
  } finally {
    slow.resolve();
  }
  const [delivery] = await deliveriesOf(sql, endpoint.id);
  assert.equal(delivery.status, "delivered");
  assert.equal(delivery.attempts, 2);
  assert.equal(receiver.received.length, 2);
  assert.equal(receiver.received[0].id, receiver.received[1].id);
});

Deno.test("a receiver that is down loses nothing: everything arrives once it is back, once each", async () => {
  // A port that nothing listens on, then a receiver on that very port.
  const probe = startReceiver();
  const port = probe.port;
  await probe.close();
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, `http://127.0.0.1:${port}/hooks`, [
    "registration.created",
  ]);
  const rows = await register(
    fixture,
    Array.from({ length: 5 }, (_, i) => ({ email: `down-${i}@c.example` })),
  );
  await dispatchOnce({ retryBaseSeconds: 3600, retryMaxSeconds: 3600 });
  const failed = await deliveriesOf(sql, endpoint.id);
  assert.deepEqual(failed.map((d) => [d.status, d.attempts]), Array(5).fill(["pending", 1]));
  assert.match(failed[0].last_error!, /^Could not connect/);

  await using receiver = startReceiver(() => ({ status: 200 }), port);
  // The backoff passes (the test's way of letting an hour go by).
  await sql`update webhook_deliveries set send_after = now() where endpoint_id = ${endpoint.id}`;
  await dispatchOnce();
  assert.deepEqual(
    receiver.received.map((r) => r.json.data.email).sort(),
    rows.map((r) => r.email).sort(),
    "each once",
  );
  const delivered = await deliveriesOf(sql, endpoint.id);
  assert.deepEqual(delivered.map((d) => [d.status, d.attempts]), Array(5).fill(["delivered", 2]));
});

Deno.test(
  "four dispatchers at once over 1,000 queued events: each delivered exactly once, all stay alive",
  async () => {
    await using receiver = startReceiver();
    const fixture = await createMerchant(sql, { credits: 2000 });
    const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
    await register(fixture, Array.from({ length: 1000 }, (_, i) => ({ email: `bulk-${i}@c.example` })));

    const pools = Array.from(
      { length: 4 },
      () =>
        postgres(runtime.config.databaseUrl, {
          max: 3,
          prepare: runtime.config.dbPrepare,
          onnotice: () => {},
        }),
    );
    try {
      const summaries = await Promise.all(
        pools.map((pool) =>
          webhookDispatcher(runtime, { batchSize: 20, concurrency: 8 }, { sql: pool }).dispatch()
        ),
      );
      const ours = receiver.received.filter((r) => r.path === "/hooks");
      assert.equal(ours.length, 1000, "every event arrived");
      assert.equal(new Set(ours.map((r) => r.id)).size, 1000, "no webhook-id twice");
      assert.ok(
        summaries.filter((s) => s.sent > 0).length >= 2,
        `the dispatchers shared the work: ${JSON.stringify(summaries.map((s) => s.sent))}`,
      );
      const rows = await sql`select status::text, attempts, count(*)::int from webhook_deliveries
        where endpoint_id = ${endpoint.id} group by 1, 2`;
      assert.deepEqual(rows.map((r) => ({ ...r })), [{ status: "delivered", attempts: 1, count: 1000 }]);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  },
);

Deno.test("during a rotation's grace period both secrets sign; after it, only the new one", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  const oldSecret = newSecret();
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"], {
    previousSecret: oldSecret,
    previousExpiresAt: new Date(Date.now() + 3600_000),
  });
  await register(fixture, [{ email: "rotating@candidates.example" }]);
  await dispatchOnce();
  const [during] = receiver.received;
  assert.equal(during.signature.split(" ").length, 2, during.signature);
  assert.ok(verifies(during, endpoint.secret), "the new secret verifies");
  assert.ok(verifies(during, oldSecret), "the old secret still verifies");

  await sql`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second'
    where id = ${endpoint.id}`;
  await register(fixture, [{ email: "rotated@candidates.example" }]);
  await dispatchOnce();
  const after = receiver.received[1];
  assert.equal(after.signature.split(" ").length, 1);
  assert.ok(verifies(after, endpoint.secret));
  assert.ok(!verifies(after, oldSecret), "the expired secret no longer verifies");
});

Deno.test("outside local mode a non-public URL is refused before any connection is made", async () => {
  const fixture = await createMerchant(sql);
  // Written past the API's check (as if DNS changed after it): each must be refused again at delivery.
  const targets = {
    "https://10.0.0.7/hooks": /10\.0\.0\.7 is a private address/,
    "https://169.254.169.254/latest": /linkLocal/,
    "https://[::ffff:127.0.0.1]/hooks": /loopback/,
    "https://rebound.example/hooks": /rebound\.example is not public: 192\.168\.4\.4 is a private address/,
    "http://93.184.215.14/hooks": /must be an https URL/,
  };
  const endpoints = await Promise.all(
    Object.keys(targets).map((url) => createEndpoint(sql, fixture.merchantId, url, ["registration.created"])),
  );
  await register(fixture, [{ email: "ssrf@candidates.example" }]);
  const connections: string[] = [];
  const dispatcher = webhookDispatcher(runtime, { maxAttempts: 1 }, {
    local: false,
    resolve: (host) =>
      host === "rebound.example" ? Promise.resolve(["192.168.4.4"]) : Promise.reject(new Error("no")),
    fetch: (input) => {
      connections.push(String(input));
      return Promise.reject(new Error("no connection may be made"));
    },
  });
  await dispatcher.dispatch();
  assert.deepEqual(connections, [], "nothing was connected to");
  for (const [i, [url, reason]] of Object.entries(targets).entries()) {
    const [delivery] = await deliveriesOf(sql, endpoints[i].id);
    assert.equal(delivery.status, "failed", url);
    assert.equal(delivery.last_response_status, null);
    assert.match(delivery.last_error!, /^URL refused: /, url);
    assert.match(delivery.last_error!, reason, url);
  }
});

Deno.test("a disabled endpoint's queued deliveries are not sent: failed, the attempt not counted", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "disabled@candidates.example" }]);
  await sql`update webhook_endpoints set enabled = false, disabled_reason = 'Paused' where id = ${endpoint.id}`;
  const summary = await dispatchOnce();
  assert.ok(summary.cancelled >= 1, JSON.stringify(summary));
  assert.equal(receiver.received.length, 0);
  const [delivery] = await deliveriesOf(sql, endpoint.id);
  assert.deepEqual([delivery.status, delivery.attempts, delivery.last_error], [
    "failed",
    0,
    "Not sent: the endpoint is disabled",
  ]);
});

Deno.test(
  "an endpoint failing for longer than the limit is disabled at its next failure and its owner emailed",
  async () => {
    await using receiver = startReceiver(() => ({ status: 502, body: "bad gateway" }));
    const fixture = await createMerchant(sql);
    const sixDaysAgo = new Date(Date.now() - 6 * 86400_000);
    const failing = await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"], {
      failingSince: sixDaysAgo,
    });
    // Failing for a day only: left enabled.
    const young = await createEndpoint(sql, fixture.merchantId, `${receiver.url}/young`, [
      "registration.created",
    ], {
      failingSince: new Date(Date.now() - 86400_000),
    });
    await register(fixture, [{ email: "auto-disable@candidates.example" }]);
    await dispatchOnce({ maxAttempts: 1 });

    const [disabled] = await sql`select enabled, disabled_reason, failing_since from webhook_endpoints
      where id = ${failing.id}`;
    assert.equal(disabled.enabled, false);
    assert.match(
      disabled.disabled_reason,
      /^Disabled automatically: every delivery failed since \d{4}-.*HTTP 502/,
    );
    const [kept] = await sql`select enabled from webhook_endpoints where id = ${young.id}`;
    assert.equal(kept.enabled, true);

    const [owner] = await sql`select email from accounts where id = ${fixture.ownerId}`;
    const notices = await sql`select to_email, payload from email_outbox
      where merchant_id = ${fixture.merchantId} and kind = 'webhook_endpoint_disabled'`;
    assert.equal(notices.length, 1, "one notice, to the one owner");
    assert.equal(notices[0].to_email, owner.email);
    assert.equal(notices[0].payload.endpoint_url, receiver.url);

    await env.dispatchOnce();
    const [mail] = messagesTo(env.catcher.messages(), owner.email);
    assert.ok(mail, "the owner got the email");
    assert.match(mail.parsed.subject!, /Webhook endpoint disabled for Fixture/);
    assert.ok(mail.parsed.text!.includes(receiver.url), mail.parsed.text);
    assert.ok(mail.parsed.text!.includes("HTTP 502"));

    // Failing again changes nothing more: no second notice.
    await register(fixture, [{ email: "auto-disable-2@candidates.example" }]);
    await dispatchOnce({ maxAttempts: 1 });
    const [{ count }] = await sql`select count(*)::int from email_outbox
      where merchant_id = ${fixture.merchantId} and kind = 'webhook_endpoint_disabled'`;
    assert.equal(count, 1);
  },
);

Deno.test("email.delivered and email.failed: the chain's outcomes, with the registration and the reason", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  const endpoint = await createEndpoint(sql, fixture.merchantId, receiver.url, [
    "email.delivered",
    "email.failed",
  ]);
  const [delivered] = await register(fixture, [{ email: "mail-ok@candidates.example", external_id: "x-1" }], {
    type: "invitation",
  });
  await env.dispatchOnce();
  const [failed] = await register(fixture, [{ email: "mail-bad@candidates.example" }], {
    type: "invitation",
  });
  await sql`update email_outbox set status = 'failed', last_error = '550 5.1.1 No such user'
    where profile_interview_id = ${failed.profile_interview_id}`;
  await dispatchOnce();

  const byType = (type: string): Received => receiver.ofType(type)[0];
  const ok = byType("email.delivered").json.data;
  assert.equal(ok.profile_interview_id, delivered.profile_interview_id);
  assert.equal(ok.email_kind, "invitation");
  assert.equal(ok.to_email, "mail-ok@candidates.example");
  assert.equal(ok.external_id, "x-1");
  assert.equal(ok.reason, null);
  const bad = byType("email.failed").json.data;
  assert.equal(bad.profile_interview_id, failed.profile_interview_id);
  assert.equal(bad.reason, "550 5.1.1 No such user");
  assert.equal((await deliveriesOf(sql, endpoint.id)).length, 2);
});

Deno.test("registration.cancelled and invitation.accepted", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  await createEndpoint(sql, fixture.merchantId, receiver.url, [
    "registration.cancelled",
    "invitation.accepted",
  ]);
  const [row] = await register(fixture, [{ email: "cancel@candidates.example" }]);
  const cancelled = await callFunction(
    server.functionsUrl,
    `registrations/${row.profile_interview_id}/cancel`,
    {
      token: await userToken(fixture.ownerId),
    },
  );
  assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
  const [invitation] = await sql`insert into merchant_invitations (merchant_id, email, role)
    values (${fixture.merchantId}, 'coach@team.example', 'mentor') returning id`;
  await sql`update merchant_invitations set accepted_at = now() where id = ${invitation.id}`;
  await dispatchOnce();
  assert.deepEqual(receiver.received.map((r) => r.json.type).sort(), [
    "invitation.accepted",
    "registration.cancelled",
  ]);
  assert.equal(
    receiver.ofType("registration.cancelled")[0].json.data.profile_interview_id,
    row.profile_interview_id,
  );
  const accepted = receiver.ofType("invitation.accepted")[0].json.data;
  assert.deepEqual([accepted.invitation_id, accepted.role, accepted.email], [
    invitation.id,
    "mentor",
    "coach@team.example",
  ]);
});

Deno.test("the worker delivers an event as soon as it is committed, woken by NOTIFY", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  const worker = await startWebhookWorker({
    sql,
    config: { ...runtime.config, webhooks: { ...runtime.config.webhooks, pollIntervalMs: 60_000 } },
  }, LOOPBACK_ONLY);
  try {
    await register(fixture, [{ email: "worker@candidates.example" }]);
    await waitFor("the worker's delivery", () => receiver.received.length === 1);
  } finally {
    await worker.stop();
  }
});

Deno.test("webhook-dispatch: the service key only; it answers with what it did", async () => {
  await using receiver = startReceiver();
  const fixture = await createMerchant(sql);
  await createEndpoint(sql, fixture.merchantId, receiver.url, ["registration.created"]);
  await register(fixture, [{ email: "cron@candidates.example" }]);
  const anonymous = await callFunction(server.functionsUrl, "webhook-dispatch", {});
  assert.equal(anonymous.status, 401);
  const reply = await callFunction(server.functionsUrl, "webhook-dispatch", { token: LOCAL_SECRET_KEY });
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.ok(reply.body.sent >= 1, JSON.stringify(reply.body));
  assert.deepEqual(Object.keys(reply.body).sort(), [
    "cancelled",
    "claimed",
    "failed",
    "released",
    "retried",
    "sent",
  ]);
  assert.equal(receiver.received.length, 1);
});
