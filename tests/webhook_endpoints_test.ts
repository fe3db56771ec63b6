/**
 * The webhook-endpoints function over real HTTP against the real database: every operation, who may call
 * it, the secret shown once, rotation, test events, the deliveries list, replays, bad input changing
 * nothing, URL safety (no connection is ever made: literal addresses only), the cap under a race, and
 * test events, replays and rotations through the real dispatcher to a receiver on loopback.
 */
import assert from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { SEED, userToken } from "./_support/credentials.ts";
import { createMerchant, createStaff } from "./_support/fixtures.ts";
import { callFunction, type Reply } from "./_support/http.ts";
import { fileServer } from "./_support/suite.ts";
import { startReceiver, verifies, verify, webhookDispatcher } from "./_support/webhooks.ts";
import { startTestServer } from "./_support/server.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { WEBHOOK_SECRET_PATTERN } from "../supabase/functions/_shared/webhook_endpoints/secret.ts";
import { MAX_WEBHOOK_ENDPOINTS } from "../supabase/functions/_shared/webhook_endpoints/schemas.ts";

const server = await fileServer();
const { sql } = server.runtime;
const FUNCTION = "webhook-endpoints";
const RECEIVER = "http://127.0.0.1:9/hooks";

type Headers = Record<string, string>;

function call(headers: Headers, path: string, method = "GET", body?: unknown, url = server.functionsUrl) {
  const target = path === "" || path.startsWith("?") ? `${FUNCTION}${path}` : `${FUNCTION}/${path}`;
  return callFunction(url, target, { headers, method, body });
}

const bearer = async (accountId: string): Promise<Headers> => ({
  authorization: `Bearer ${await userToken(accountId)}`,
});

/** A fixture merchant, its owner's headers and an API key of it. */
async function merchant(options: { parentId?: string } = {}) {
  const fixture = await createMerchant(sql, options);
  const owner = await bearer(fixture.ownerId);
  const key = await callFunction(server.functionsUrl, "api-keys", {
    headers: owner,
    body: { name: "hooks" },
  });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  return { ...fixture, owner, apiKey: { "x-api-key": key.body.key as string } };
}

async function create(headers: Headers, body: Record<string, unknown> = {}, extra: Headers = {}) {
  return await call({ ...headers, ...extra }, "", "POST", {
    url: RECEIVER,
    event_types: ["registration.started"],
    ...body,
  });
}

async function created(headers: Headers, body: Record<string, unknown> = {}) {
  const reply = await create(headers, body);
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  return reply.body;
}

/** Everything stored about a merchant's webhooks, to compare before and after a refused request. */
async function footprint(merchantId: string) {
  return await sql`
    select e.*, (select count(*)::int from webhook_deliveries d where d.endpoint_id = e.id) as deliveries,
      (select count(*)::int from webhook_events v where v.merchant_id = e.merchant_id) as events
    from webhook_endpoints e where e.merchant_id = ${merchantId} order by e.created_at, e.id`;
}

function assertNoSecret(reply: Reply, secret: string) {
  assert.equal(JSON.stringify(reply.body).includes(secret.slice(6)), false, "the secret is not shown");
  assert.equal(JSON.stringify(reply.body).includes('secret"'), false, "no secret field");
}

Deno.test("an owner creates an endpoint (the secret once), lists, gets, changes, disables, enables, deletes", async () => {
  const m = await merchant();
  const reply = await create(m.owner, {
    url: " https://93.184.215.14/hooks ",
    event_types: ["registration.completed", "registration.started", "registration.completed"],
    description: "  ATS  ",
  });
  assert.equal(reply.status, 201, JSON.stringify(reply.body));
  const { secret, ...endpoint } = reply.body;
  assert.match(secret, WEBHOOK_SECRET_PATTERN);
  assert.equal(Buffer.from(secret.slice(6), "base64").length, 32);
  assert.deepEqual(Object.keys(endpoint).sort(), [
    "created_at",
    "description",
    "disabled_reason",
    "enabled",
    "event_types",
    "failing_since",
    "id",
    "merchant_id",
    "previous_secret_expires_at",
    "updated_at",
    "url",
  ]);
  assert.equal(endpoint.url, "https://93.184.215.14/hooks");
  assert.deepEqual(endpoint.event_types, ["registration.completed", "registration.started"]);
  assert.equal(endpoint.description, "ATS");
  assert.equal(endpoint.enabled, true);
  assert.equal(endpoint.merchant_id, m.merchantId);
  const [stored] = await sql`select secret from webhook_endpoints where id = ${endpoint.id}`;
  assert.equal(stored.secret, secret, "the secret the delivery side signs with");

  const listed = await call(m.owner, "");
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.equal(listed.body.merchant_id, m.merchantId);
  assert.deepEqual(listed.body.webhook_endpoints, [endpoint]);
  assertNoSecret(listed, secret);

  const got = await call(m.owner, endpoint.id);
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, endpoint);
  assertNoSecret(got, secret);

  const changed = await call(m.owner, endpoint.id, "PATCH", {
    url: RECEIVER,
    event_types: ["email.failed"],
  });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.url, RECEIVER);
  assert.deepEqual(changed.body.event_types, ["email.failed"]);
  assert.equal(changed.body.description, "ATS", "a field left out stays");
  const cleared = await call(m.owner, endpoint.id, "PATCH", { description: null });
  assert.equal(cleared.body.description, null);
  assertNoSecret(changed, secret);

  const disabled = await call(m.owner, `${endpoint.id}/disable`, "POST");
  assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
  assert.equal(disabled.body.enabled, false);
  assert.equal(disabled.body.disabled_reason, "Disabled through the API");
  assert.deepEqual((await call(m.owner, `${endpoint.id}/disable`, "POST")).body, disabled.body, "no change");

  await sql`update webhook_endpoints set failing_since = now() - interval '2 days' where id = ${endpoint.id}`;
  const enabled = await call(m.owner, `${endpoint.id}/enable`, "POST");
  assert.equal(enabled.status, 200);
  assert.equal(enabled.body.enabled, true);
  assert.equal(enabled.body.disabled_reason, null);
  assert.equal(enabled.body.failing_since, null, "enabling starts its failure clock afresh");

  const deleted = await call(m.owner, endpoint.id, "DELETE");
  assert.equal(deleted.status, 200);
  assert.equal(deleted.body.id, endpoint.id);
  assert.equal((await call(m.owner, endpoint.id)).status, 404);
  assert.equal((await call(m.owner, endpoint.id, "DELETE")).status, 404);
  assert.deepEqual((await call(m.owner, "")).body.webhook_endpoints, []);
});

Deno.test("who may manage endpoints: owners, admins, the service key with merchant_id, the merchant's keys", async (t) => {
  const parent = await merchant();
  const child = await merchant({ parentId: parent.merchantId });
  const other = await merchant();
  const staff = await bearer(await createStaff(sql, parent.merchantId, "merchant"));
  const selection = await bearer(await createStaff(sql, parent.merchantId, "merchant_selection"));
  const service = { apikey: LOCAL_SECRET_KEY };
  const target = parent.merchantId;
  const cases: [string, Headers, string | null, number][] = [
    ["the owner", parent.owner, null, 201],
    ["the merchant's API key", parent.apiKey, null, 201],
    ["an admin naming it", await bearer(SEED.admin), target, 201],
    ["the service key naming it", service, target, 201],
    ["the service key without merchant_id", service, null, 422],
    ["the parent's owner naming the sub-merchant", parent.owner, child.merchantId, 201],
    ["the parent's API key naming the sub-merchant", parent.apiKey, child.merchantId, 201],
    ["the sub-merchant's owner naming the parent", child.owner, target, 403],
    ["staff", staff, null, 403],
    ["merchant_selection", selection, null, 403],
    ["another merchant's owner naming it", other.owner, target, 403],
    ["another merchant's API key naming it", other.apiKey, target, 403],
    ["nobody", {}, null, 401],
  ];
  for (const [name, headers, merchantId, status] of cases) {
    await t.step(`create: ${name}`, async () => {
      const before = await sql`select count(*)::int as n from webhook_endpoints`;
      const reply = await create(headers, merchantId ? { merchant_id: merchantId } : {});
      assert.equal(reply.status, status, JSON.stringify(reply.body));
      if (status === 201) assert.equal(reply.body.merchant_id, merchantId ?? parent.merchantId);
      const after = await sql`select count(*)::int as n from webhook_endpoints`;
      assert.equal(after[0].n - before[0].n, status === 201 ? 1 : 0);
    });
  }

  // Every operation on one endpoint, by each caller: allowed ones succeed, the others change nothing.
  const endpoint = await created(parent.owner);
  const q = (merchantId: string | null) => merchantId ? `?merchant_id=${merchantId}` : "";
  const operations: [string, (h: Headers, m: string | null) => Promise<Reply>, number][] = [
    ["get", (h, m) => call(h, `${endpoint.id}${q(m)}`), 200],
    ["list", (h, m) => call(h, q(m)), 200],
    ["update", (h, m) => call(h, `${endpoint.id}${q(m)}`, "PATCH", { description: "changed" }), 200],
    ["disable", (h, m) => call(h, `${endpoint.id}/disable${q(m)}`, "POST"), 200],
    ["enable", (h, m) => call(h, `${endpoint.id}/enable${q(m)}`, "POST"), 200],
    ["rotate", (h, m) => call(h, `${endpoint.id}/rotate-secret${q(m)}`, "POST", {}), 200],
    ["test event", (h, m) => call(h, `${endpoint.id}/test${q(m)}`, "POST"), 202],
    ["deliveries", (h, m) => call(h, `${endpoint.id}/deliveries${q(m)}`), 200],
    [
      "replay",
      (h, m) => call(h, `${endpoint.id}/replay${q(m)}`, "POST", { failed_since: "2026-01-01T00:00:00Z" }),
      200,
    ],
  ];
  const callers: [string, Headers, string | null, number | null][] = [
    ["the owner", parent.owner, null, null],
    ["the merchant's API key", parent.apiKey, null, null],
    ["an admin naming it", await bearer(SEED.admin), target, null],
    ["the service key naming it", service, target, null],
    ["the service key without merchant_id", service, null, 422],
    ["staff", staff, null, 403],
    ["another merchant's owner", other.owner, null, 404],
    ["another merchant's owner naming it", other.owner, target, 403],
    ["another merchant's API key", other.apiKey, null, 404],
    ["another merchant's API key naming it", other.apiKey, target, 403],
  ];
  for (const [name, run, success] of operations) {
    await t.step(name, async () => {
      for (const [who, headers, merchantId, refused] of callers) {
        const before = await footprint(parent.merchantId);
        const reply = await run(headers, merchantId);
        // Listing names no endpoint: another merchant's caller sees its own (empty) list.
        const expected = refused === 404 && name === "list" ? 200 : refused ?? success;
        assert.equal(reply.status, expected, `${who}: ${JSON.stringify(reply.body)}`);
        if (refused !== null) assert.deepEqual(await footprint(parent.merchantId), before, who);
        if (name === "list" && expected === 200 && refused === 404) {
          assert.deepEqual(reply.body.webhook_endpoints, [], `${who} sees none of this merchant's`);
        }
      }
    });
  }
});

Deno.test("bad input is a 422 naming the field and changes nothing", async () => {
  const m = await merchant();
  const endpoint = await created(m.owner);
  const before = await footprint(m.merchantId);
  const base = { url: RECEIVER, event_types: ["registration.started"] };
  const creates: [Record<string, unknown>, string | undefined][] = [
    [{ event_types: ["registration.started"] }, "url"],
    [{ ...base, url: "" }, "url"],
    [{ ...base, url: 42 }, "url"],
    [{ ...base, url: "not a url" }, "url"],
    [{ ...base, url: `https://93.184.215.14/${"x".repeat(2048)}` }, "url"],
    [{ ...base, url: "ftp://127.0.0.1/hooks" }, "url"],
    [{ ...base, url: "http://user:pw@127.0.0.1/hooks" }, "url"],
    [{ ...base, url: "https://10.0.0.1/hooks" }, "url"],
    [{ ...base, url: "https://169.254.169.254/latest/meta-data" }, "url"],
    [{ url: RECEIVER }, "event_types"],
    [{ ...base, event_types: [] }, "event_types"],
    [{ ...base, event_types: "registration.started" }, "event_types"],
    [{ ...base, event_types: ["registration.started", "registration.deleted"] }, "event_types.1"],
    [{ ...base, event_types: ["webhook.test"] }, "event_types.0"],
    [{ ...base, description: "x".repeat(501) }, "description"],
    [{ ...base, description: "a\u0000b" }, "description"],
    [{ ...base, merchant_id: "nope" }, "merchant_id"],
    [{ ...base, secret: "whsec_AAAA" }, undefined],
  ];
  for (const [body, field] of creates) {
    const reply = await call(m.owner, "", "POST", body);
    assert.equal(reply.status, 422, `${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.name, field, JSON.stringify(reply.body));
  }
  const unknown = await call(m.owner, "", "POST", { ...base, secret: "whsec_AAAA" });
  assert.equal(unknown.body.error, 'Unknown field "secret"');

  const updates: [Record<string, unknown>, string | undefined][] = [
    [{}, undefined],
    [{ url: "https://192.168.1.10/hooks" }, "url"],
    [{ url: "https://[::ffff:10.0.0.1]/hooks" }, "url"],
    [{ event_types: [] }, "event_types"],
    [{ description: "x".repeat(501) }, "description"],
    [{ enabled: false }, undefined],
  ];
  for (const [body, field] of updates) {
    const reply = await call(m.owner, endpoint.id, "PATCH", body);
    assert.equal(reply.status, 422, `${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.name, field);
  }
  for (
    const [path, body] of [
      [`${endpoint.id}/rotate-secret`, { grace_period_seconds: -1 }],
      [
        `${endpoint.id}/rotate-secret`,
        { grace_period_seconds: 7 * 24 * 3600 + 1 },
      ],
      [`${endpoint.id}/rotate-secret`, { grace_period_seconds: "60" }],
      [`${endpoint.id}/replay`, {}],
      [
        `${endpoint.id}/replay`,
        { failed_since: "yesterday" },
      ],
      [`${endpoint.id}/replay`, { delivery_id: crypto.randomUUID(), failed_since: "2026-01-01T00:00:00Z" }],
    ] as const
  ) {
    const reply = await call(m.owner, path, "POST", body);
    assert.equal(reply.status, 422, `${path} ${JSON.stringify(body)}: ${JSON.stringify(reply.body)}`);
  }
  const badCursor = await call(m.owner, `${endpoint.id}/deliveries?cursor=abc`);
  assert.deepEqual([badCursor.status, badCursor.body.name], [422, "cursor"]);
  const badStatus = await call(m.owner, `${endpoint.id}/deliveries?status=lost`);
  assert.deepEqual([badStatus.status, badStatus.body.name], [422, "status"]);
  assert.equal((await call(m.owner, "not-a-uuid")).status, 404);
  assert.deepEqual(await footprint(m.merchantId), before);
});

Deno.test("outside local mode: only https to public addresses; nothing is connected to", async () => {
  await using hosted = await startTestServer({ local: false });
  const m = await merchant();
  const before = await footprint(m.merchantId);
  for (
    const url of [
      RECEIVER,
      "https://127.0.0.1/hooks",
      "https://[::1]/hooks",
      "https://10.1.2.3/hooks",
      "https://100.100.100.200/hooks",
      "https://[fd00::1]/hooks",
      "https://0.0.0.0/hooks",
    ]
  ) {
    const reply = await call(
      m.owner,
      "",
      "POST",
      { url, event_types: ["registration.started"] },
      hosted.functionsUrl,
    );
    assert.equal(reply.status, 422, `${url}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.body.name, "url");
  }
  assert.deepEqual(await footprint(m.merchantId), before);
  const named = await call(
    m.owner,
    "",
    "POST",
    { url: "https://10.1.2.3/", event_types: ["email.failed"] },
    hosted.functionsUrl,
  );
  assert.equal(
    named.body.error,
    "Host 10.1.2.3 is not public: 10.1.2.3 is a private address, not a public one",
  );
  const insecure = await call(
    m.owner,
    "",
    "POST",
    { url: RECEIVER, event_types: ["email.failed"] },
    hosted.functionsUrl,
  );
  assert.equal(insecure.body.error, "Must be an https URL");
  const accepted = await call(
    m.owner,
    "",
    "POST",
    { url: "https://93.184.215.14/hooks", event_types: ["registration.started"] },
    hosted.functionsUrl,
  );
  assert.equal(accepted.status, 201, JSON.stringify(accepted.body));
  const loopback = await call(m.owner, accepted.body.id, "PATCH", { url: RECEIVER }, hosted.functionsUrl);
  assert.deepEqual([loopback.status, loopback.body.name], [422, "url"]);
  // Local mode takes loopback over http, and still refuses private addresses.
  assert.equal((await create(m.owner, { url: "http://[::1]:9/hooks" })).status, 201);
  assert.equal((await create(m.owner, { url: "http://192.168.0.1/hooks" })).status, 422);
});

Deno.test("rotation: a new secret once, the old one kept with its expiry for the grace period", async () => {
  const m = await merchant();
  const endpoint = await created(m.owner);
  const first = endpoint.secret as string;

  const rotated = await call(m.owner, `${endpoint.id}/rotate-secret`, "POST");
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
  const second = rotated.body.secret as string;
  assert.match(second, WEBHOOK_SECRET_PATTERN);
  assert.notEqual(second, first);
  const [row] = await sql`select secret, previous_secret,
      extract(epoch from previous_secret_expires_at - now())::int as grace from webhook_endpoints
    where id = ${endpoint.id}`;
  assert.equal(row.secret, second);
  assert.equal(row.previous_secret, first);
  assert.ok(Math.abs(row.grace - 86400) < 60, `24 hours by default: ${row.grace}`);
  assert.ok(rotated.body.previous_secret_expires_at);
  const got = await call(m.owner, endpoint.id);
  assertNoSecret(got, second);
  assertNoSecret(got, first);
  assert.equal(got.body.previous_secret_expires_at, rotated.body.previous_secret_expires_at);

  // Both secrets work with the Standard Webhooks library: a receiver holding either verifies.
  const payload = JSON.stringify({ type: "webhook.test", timestamp: new Date().toISOString(), data: {} });
  const now = new Date();
  for (const secret of [first, second]) {
    const signature = new Webhook(secret).sign("msg_1", now, payload);
    const headers = {
      "webhook-id": "msg_1",
      "webhook-timestamp": `${Math.floor(+now / 1000)}`,
      "webhook-signature": signature,
    };
    assert.deepEqual(new Webhook(secret).verify(payload, headers), JSON.parse(payload));
  }

  const third = await call(m.owner, `${endpoint.id}/rotate-secret`, "POST", { grace_period_seconds: 600 });
  assert.equal(third.status, 200);
  const [after] = await sql`select previous_secret,
      extract(epoch from previous_secret_expires_at - now())::int as grace from webhook_endpoints
    where id = ${endpoint.id}`;
  assert.equal(after.previous_secret, second, "only the latest previous secret is kept");
  assert.ok(Math.abs(after.grace - 600) < 60);

  const immediate = await call(m.owner, `${endpoint.id}/rotate-secret`, "POST", { grace_period_seconds: 0 });
  assert.equal(immediate.body.previous_secret_expires_at, null);
  const [none] = await sql`select previous_secret from webhook_endpoints where id = ${endpoint.id}`;
  assert.equal(none.previous_secret, null);

  // A retried rotation with its Idempotency-Key gets the same secret, and rotates once.
  const keyed = { ...m.owner, "idempotency-key": crypto.randomUUID() };
  const once = await call(keyed, `${endpoint.id}/rotate-secret`, "POST", {});
  const again = await call(keyed, `${endpoint.id}/rotate-secret`, "POST", {});
  assert.equal(again.headers.get("idempotent-replayed"), "true");
  assert.equal(again.body.secret, once.body.secret);
  const [latest] = await sql`select secret, previous_secret from webhook_endpoints where id = ${endpoint.id}`;
  assert.equal(latest.secret, once.body.secret);
  assert.equal(latest.previous_secret, immediate.body.secret);
});

Deno.test("a test event: one webhook.test event and one pending delivery to that endpoint", async () => {
  const m = await merchant();
  const endpoint = await created(m.apiKey, { event_types: ["email.failed"] });
  const other = await created(m.apiKey);
  const keyed = { ...m.apiKey, "idempotency-key": "test-1" };
  const sent = await call(keyed, `${endpoint.id}/test`, "POST");
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal(sent.body.event_type, "webhook.test");
  assert.equal(sent.body.endpoint_id, endpoint.id);
  const repeat = await call(keyed, `${endpoint.id}/test`, "POST");
  assert.equal(repeat.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(repeat.body, sent.body);

  const rows =
    await sql`select v.id as event_id, v.type, v.payload, d.id as delivery_id, d.endpoint_id, d.status,
      d.attempts, d.send_after <= now() as due
    from webhook_events v join webhook_deliveries d on d.event_id = v.id where v.merchant_id = ${m.merchantId}`;
  assert.equal(rows.length, 1, "one event, one delivery, whatever the retries");
  assert.deepEqual({ ...rows[0] }, {
    event_id: sent.body.event_id,
    type: "webhook.test",
    payload: { merchant_id: m.merchantId, endpoint_id: endpoint.id },
    delivery_id: sent.body.delivery_id,
    endpoint_id: endpoint.id,
    status: "pending",
    attempts: 0,
    due: true,
  });
  assert.notEqual(rows[0].endpoint_id, other.id);

  await call(m.apiKey, `${endpoint.id}/disable`, "POST");
  const before = await footprint(m.merchantId);
  const refused = await call(m.apiKey, `${endpoint.id}/test`, "POST");
  assert.equal(refused.status, 409, JSON.stringify(refused.body));
  assert.deepEqual(await footprint(m.merchantId), before);
});

/** Queues `count` events for an endpoint with deliveries in the given states, oldest first. */
async function deliveries(endpointId: string, merchantId: string, states: string[]) {
  const rows = [];
  for (const [i, status] of states.entries()) {
    const [row] = await sql`
      with event as (
        insert into webhook_events (merchant_id, type, payload, created_at)
        values (${merchantId}, 'registration.started', '{}', now() - make_interval(mins => ${100 - i}))
        returning id, created_at
      )
      insert into webhook_deliveries (event_id, endpoint_id, status, attempts, created_at, send_after, claim_id,
        lease_expires_at, last_attempt_at, last_response_status, last_response_body, last_error, delivered_at,
        failed_at)
      select id, ${endpointId}, ${status}::webhook_delivery_status, ${
      status === "pending" ? 0 : 7
    }, created_at,
        now() + interval '1 hour',
        case when ${status} = 'sending' then gen_random_uuid() end,
        case when ${status} = 'sending' then now() + interval '1 minute' end,
        case when ${status} <> 'pending' then now() end,
        case when ${status} = 'failed' then 500 when ${status} = 'delivered' then 200 end,
        case when ${status} = 'failed' then 'oops' end,
        case when ${status} = 'failed' then 'HTTP 500' end,
        case when ${status} = 'delivered' then now() end,
        case when ${status} = 'failed' then now() - make_interval(mins => ${100 - i}) end
      from event
      returning id, event_id, failed_at`;
    rows.push(row);
  }
  return rows;
}

Deno.test("an endpoint's deliveries, newest first, a page at a time, filtered by status", async () => {
  const m = await merchant();
  const endpoint = await created(m.owner);
  const rows = await deliveries(endpoint.id, m.merchantId, [
    "delivered",
    "failed",
    "pending",
    "failed",
    "sending",
  ]);

  const seen: string[] = [];
  let cursor: string | null = "";
  while (cursor !== null) {
    const page: Reply = await call(
      m.owner,
      `${endpoint.id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
    );
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.ok(page.body.deliveries.length <= 2);
    seen.push(...page.body.deliveries.map((d: { id: string }) => d.id));
    cursor = page.body.next_cursor;
  }
  assert.deepEqual(seen, rows.map((r) => r.id).reverse());

  const failed = await call(m.owner, `${endpoint.id}/deliveries?status=failed`);
  assert.deepEqual(failed.body.deliveries.map((d: { id: string }) => d.id), [rows[3].id, rows[1].id]);
  const one = failed.body.deliveries[0];
  assert.deepEqual(
    {
      ...one,
      last_attempt_at: !!one.last_attempt_at,
      failed_at: !!one.failed_at,
      created_at: !!one.created_at,
    },
    {
      id: rows[3].id,
      event_id: rows[3].event_id,
      event_type: "registration.started",
      status: "failed",
      attempts: 7,
      next_attempt_at: null,
      last_attempt_at: true,
      last_response_status: 500,
      last_response_body: "oops",
      last_error: "HTTP 500",
      delivered_at: null,
      failed_at: true,
      created_at: true,
    },
  );
  const pending = await call(m.owner, `${endpoint.id}/deliveries?status=pending`);
  assert.ok(pending.body.deliveries[0].next_attempt_at, "a pending delivery says when it is due");
  assert.equal(pending.body.next_cursor, null);
});

Deno.test("replay: one delivery, one event, or every failed one since a time; same event, fresh attempts", async () => {
  const m = await merchant();
  const endpoint = await created(m.owner);
  const [delivered, failedOld, failedNew, sending, pending] = await deliveries(
    endpoint.id,
    m.merchantId,
    ["delivered", "failed", "failed", "sending", "pending"],
  );
  const state = async (id: string) =>
    (await sql`select status, attempts, send_after <= now() as due, event_id, claim_id, delivered_at, failed_at
      from webhook_deliveries where id = ${id}`)[0];

  const one = await call(m.owner, `${endpoint.id}/replay`, "POST", { delivery_id: delivered.id });
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.deepEqual(one.body, { endpoint_id: endpoint.id, replayed: [delivered.id], more: false });
  assert.deepEqual({ ...await state(delivered.id) }, {
    status: "pending",
    attempts: 0,
    due: true,
    event_id: delivered.event_id,
    claim_id: null,
    delivered_at: null,
    failed_at: null,
  });

  const byEvent = await call(m.owner, `${endpoint.id}/replay`, "POST", { event_id: failedOld.event_id });
  assert.deepEqual(byEvent.body.replayed, [failedOld.id]);

  const inFlight = await call(m.owner, `${endpoint.id}/replay`, "POST", { delivery_id: sending.id });
  assert.equal(inFlight.status, 409, JSON.stringify(inFlight.body));
  assert.equal((await state(sending.id)).status, "sending");
  const unknown = await call(m.owner, `${endpoint.id}/replay`, "POST", { delivery_id: crypto.randomUUID() });
  assert.deepEqual([unknown.status, unknown.body.name], [404, "delivery_id"]);

  // Every failed one since a time: failedOld was replayed already, so only failedNew is failed now.
  await sql`update webhook_deliveries set status = 'failed', failed_at = now() - interval '3 hours', attempts = 9
    where id = ${failedOld.id}`;
  const since = new Date(Date.parse(failedNew.failed_at) - 1000).toISOString();
  const keyed = { ...m.owner, "idempotency-key": crypto.randomUUID() };
  const bulk = await call(keyed, `${endpoint.id}/replay`, "POST", { failed_since: since });
  assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
  assert.deepEqual(bulk.body.replayed, [failedNew.id]);
  assert.equal((await state(failedOld.id)).status, "failed", "failed before the time: left alone");
  assert.equal((await state(pending.id)).due, false, "a pending one keeps its time");
  const repeat = await call(keyed, `${endpoint.id}/replay`, "POST", { failed_since: since });
  assert.equal(repeat.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(repeat.body, bulk.body);

  const all = await call(m.owner, `${endpoint.id}/replay`, "POST", { failed_since: "2020-01-01T00:00:00Z" });
  assert.deepEqual(all.body.replayed, [failedOld.id]);
  assert.equal((await state(failedOld.id)).attempts, 0);

  const otherEndpoint = await created(m.owner);
  const elsewhere = await call(m.owner, `${otherEndpoint.id}/replay`, "POST", { delivery_id: delivered.id });
  assert.equal(elsewhere.status, 404, "a delivery of another endpoint");
  await call(m.owner, `${endpoint.id}/disable`, "POST");
  const disabled = await call(m.owner, `${endpoint.id}/replay`, "POST", { delivery_id: delivered.id });
  assert.equal(disabled.status, 409);
});

Deno.test("creates are idempotent with a key: the same endpoint and secret, one row", async () => {
  const m = await merchant();
  const keyed = { ...m.owner, "idempotency-key": "create-once" };
  const first = await create(keyed);
  const second = await create(keyed);
  assert.equal(first.status, 201);
  assert.equal(second.status, 201);
  assert.equal(second.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(second.body, first.body);
  assert.equal((await footprint(m.merchantId)).length, 1);
  const different = await create(keyed, { description: "other" });
  assert.equal(different.status, 422, JSON.stringify(different.body));
});

Deno.test(`a race: ${MAX_WEBHOOK_ENDPOINTS + 15} concurrent creates leave exactly ${MAX_WEBHOOK_ENDPOINTS} endpoints`, async () => {
  const m = await merchant();
  const replies = await Promise.all(
    Array.from({ length: MAX_WEBHOOK_ENDPOINTS + 15 }, (_, i) => create(i % 2 ? m.owner : m.apiKey)),
  );
  const statuses = replies.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, MAX_WEBHOOK_ENDPOINTS, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 409).length, 15);
  assert.equal((await footprint(m.merchantId)).length, MAX_WEBHOOK_ENDPOINTS);
  const refused = replies.find((r) => r.status === 409)!;
  assert.match(refused.body.error, /at most 20 webhook endpoints/);
});

Deno.test("through the dispatcher: a test event, a replay with the same webhook-id, rotations, failed-since", async () => {
  let failing = false;
  await using receiver = startReceiver(() =>
    failing ? { status: 500, body: "down for maintenance" } : { status: 200 }
  );
  const m = await merchant();
  const endpoint = await created(m.apiKey, { url: receiver.url });
  const dispatch = () => webhookDispatcher(server.runtime, { maxAttempts: 1 }).dispatch();
  const ours = () => receiver.received.filter((r) => r.json?.data?.endpoint_id === endpoint.id);

  const sent = await call(m.apiKey, `${endpoint.id}/test`, "POST");
  await dispatch();
  assert.equal(ours().length, 1);
  assert.equal(ours()[0].id, sent.body.event_id, "the event id is the webhook-id");
  assert.deepEqual((verify(ours()[0], endpoint.secret) as { type: string }).type, "webhook.test");
  const [delivered] = (await call(m.apiKey, `${endpoint.id}/deliveries`)).body.deliveries;
  assert.deepEqual([delivered.status, delivered.attempts, delivered.last_response_status], [
    "delivered",
    1,
    200,
  ]);

  const replayed = await call(m.apiKey, `${endpoint.id}/replay`, "POST", {
    delivery_id: sent.body.delivery_id,
  });
  assert.deepEqual(replayed.body.replayed, [sent.body.delivery_id]);
  await dispatch();
  assert.deepEqual(
    ours().map((r) => r.id),
    [sent.body.event_id, sent.body.event_id],
    "the same webhook-id again",
  );
  assert.equal(ours()[1].body, ours()[0].body, "the same body");

  // A rotation: each delivery verifies with the old secret and with the new one until the grace period ends.
  const rotated = (await call(m.apiKey, `${endpoint.id}/rotate-secret`, "POST", {})).body.secret as string;
  await call(m.apiKey, `${endpoint.id}/test`, "POST");
  await dispatch();
  assert.ok(verifies(ours()[2], endpoint.secret), "the old secret still verifies");
  assert.ok(verifies(ours()[2], rotated), "the new one too");
  const immediate =
    (await call(m.apiKey, `${endpoint.id}/rotate-secret`, "POST", { grace_period_seconds: 0 }))
      .body.secret as string;
  await call(m.apiKey, `${endpoint.id}/test`, "POST");
  await dispatch();
  assert.ok(verifies(ours()[3], immediate));
  assert.ok(!verifies(ours()[3], rotated), "no grace: the previous secret no longer verifies");

  // A receiver down: the delivery fails (one attempt here); once it is back, failed-since sends it again.
  failing = true;
  const lost = await call(m.apiKey, `${endpoint.id}/test`, "POST");
  await dispatch();
  const failed = (await call(m.apiKey, `${endpoint.id}/deliveries?status=failed`)).body.deliveries;
  assert.deepEqual(
    failed.map((d: Record<string, unknown>) => [d.id, d.last_response_status, d.last_response_body]),
    [[lost.body.delivery_id, 500, "down for maintenance"]],
  );
  failing = false;
  const since = new Date(Date.now() - 60_000).toISOString();
  const again = await call(m.apiKey, `${endpoint.id}/replay`, "POST", { failed_since: since });
  assert.deepEqual(again.body.replayed, [lost.body.delivery_id]);
  await dispatch();
  assert.deepEqual(ours().slice(-2).map((r) => r.id), [lost.body.event_id, lost.body.event_id]);
  const [now] = (await call(m.apiKey, `${endpoint.id}/deliveries`)).body.deliveries;
  assert.deepEqual([now.id, now.status, now.attempts], [lost.body.delivery_id, "delivered", 1]);
});

Deno.test("mixed concurrent changes of one endpoint all land, and a delete racing test events leaves no orphan", async () => {
  const m = await merchant();
  const endpoint = await created(m.owner);
  const requests: Promise<Reply>[] = [];
  for (let i = 0; i < 10; i++) {
    requests.push(call(m.owner, `${endpoint.id}/rotate-secret`, "POST", {}));
    requests.push(call(m.apiKey, `${endpoint.id}/test`, "POST"));
    requests.push(call(m.owner, endpoint.id, "PATCH", { description: `d${i}` }));
    requests.push(call(m.apiKey, `${endpoint.id}/replay`, "POST", { failed_since: "2026-01-01T00:00:00Z" }));
    requests.push(call(m.owner, endpoint.id));
  }
  const replies = await Promise.all(requests);
  assert.deepEqual(
    replies.map((r) => r.status),
    Array.from({ length: 10 }, () => [200, 202, 200, 200, 200]).flat(),
    JSON.stringify(replies.filter((r) => r.status >= 300).map((r) => r.body)),
  );
  const secrets = replies.filter((_, i) => i % 5 === 0).map((r) => r.body.secret as string);
  assert.equal(new Set(secrets).size, 10);
  const [row] = await sql`select secret, previous_secret, description,
      (select count(*)::int from webhook_deliveries d where d.endpoint_id = e.id and d.status = 'pending') as pending
    from webhook_endpoints e where id = ${endpoint.id}`;
  assert.ok(secrets.includes(row.secret), "the last rotation's secret");
  assert.ok(secrets.includes(row.previous_secret) && row.previous_secret !== row.secret, "the one before it");
  assert.match(row.description, /^d\d$/);
  assert.equal(row.pending, 10, "every test event queued once");

  const racing = await Promise.all([
    ...Array.from({ length: 10 }, () => call(m.apiKey, `${endpoint.id}/test`, "POST")),
    call(m.owner, endpoint.id, "DELETE"),
    ...Array.from({ length: 10 }, () => call(m.apiKey, `${endpoint.id}/test`, "POST")),
  ]);
  const statuses = racing.map((r) => r.status);
  assert.equal(statuses[10], 200, JSON.stringify(racing[10].body));
  assert.ok(statuses.every((s) => [200, 202, 404].includes(s)), JSON.stringify(statuses));
  const [left] = await sql`select
      (select count(*)::int from webhook_events where merchant_id = ${m.merchantId} and type = 'webhook.test') as events,
      (select count(*)::int from webhook_deliveries where endpoint_id = ${endpoint.id}) as deliveries`;
  assert.equal(
    left.events,
    10 + statuses.filter((s) => s === 202).length,
    "a refused test event wrote nothing",
  );
  assert.equal(left.deliveries, 0, "the endpoint's deliveries went with it");
});

Deno.test("a browser may PATCH an endpoint: the preflight allows the method and the key header", async () => {
  const res = await fetch(`${server.functionsUrl}/${FUNCTION}/${crypto.randomUUID()}`, {
    method: "OPTIONS",
    headers: {
      origin: "https://dashboard.example",
      "access-control-request-method": "PATCH",
      "access-control-request-headers": "x-api-key, content-type",
    },
  });
  await res.body?.cancel();
  assert.equal(res.status, 204);
  assert.match(res.headers.get("access-control-allow-methods") ?? "", /PATCH/);
  assert.match(res.headers.get("access-control-allow-headers") ?? "", /x-api-key/);
});
