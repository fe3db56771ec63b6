/**
 * The MCP server with the SDK's own client over real HTTP: its tools are the HTTP endpoints (same schemas,
 * same outcomes row by row, same refusals), for API keys and user JWTs, under concurrency and deadlines.
 */
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { startTestServer } from "./_support/server.ts";
import { fileServer } from "./_support/suite.ts";
import { SEED, userToken } from "./_support/credentials.ts";
import { createMerchant, credits, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { captureLogs } from "./_support/logs.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { LOCAL_ACME_API_KEY } from "../supabase/functions/_shared/api_keys/key.ts";
import { MAX_JSON_DEPTH } from "../supabase/functions/_shared/request_body.ts";
import { MCP_TOOLS } from "../supabase/functions/_shared/mcp/tools.ts";
import { jsonSchema } from "../supabase/functions/_shared/openapi.ts";
import { RegistrationRequest } from "../supabase/functions/_shared/routes/registrations.ts";
import { ListRegistrationsQuery } from "../supabase/functions/_shared/registrations/schemas.ts";

const server = await fileServer({ maxUsersPerRequest: 20 });
const { sql } = server.runtime;
const REGISTER = "job-interview-register-users";
const INVITE = "invite-users";

// Tool results and HTTP bodies are arbitrary JSON.
// deno-lint-ignore no-explicit-any
type Json = any;

/** An MCP client connected to the local server, sending `headers` with every request (as MCP clients do). */
async function connect(headers: Record<string, string> = {}, url = `${server.functionsUrl}/mcp`) {
  const client = new Client({ name: "mcp-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

async function call(client: Client, name: string, args: Record<string, unknown>) {
  return await client.callTool({ name, arguments: args }) as CallToolResult;
}

/** A tool error's body: the HTTP API's error body plus its status. */
function toolError(result: CallToolResult): Json {
  assert.equal(result.isError, true, JSON.stringify(result));
  assert.equal(result.structuredContent, undefined);
  const [content] = result.content;
  assert.equal(content.type, "text");
  return JSON.parse((content as { text: string }).text);
}

/** A tool's answer: its structured content, which its text repeats. */
function answer(result: CallToolResult): Json {
  assert.notEqual(result.isError, true, JSON.stringify(result));
  const [content] = result.content;
  assert.deepEqual(JSON.parse((content as { text: string }).text), result.structuredContent);
  return result.structuredContent;
}

/** A fixture merchant with a fresh API key of its own. */
async function merchantWithKey(options: { credits?: number } = {}) {
  const fixture = await createMerchant(sql, options);
  const created = await callFunction(server.functionsUrl, "api-keys", {
    token: await userToken(fixture.ownerId),
    body: { name: "mcp test" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { ...fixture, key: created.body.key as string };
}

/** A row with the ids that differ between two merchants replaced, so their rows compare. */
function comparable(row: Json): Json {
  const { interview_url, profile_interview_id, profile_id, invitation_id, interview_id, ...rest } = row;
  return {
    ...rest,
    interview_url: interview_url === undefined ? undefined : typeof interview_url,
    profile_interview_id: profile_interview_id === undefined ? undefined : profile_interview_id && "id",
    profile_id: profile_id === undefined ? undefined : profile_id && "id",
    invitation_id: invitation_id === undefined ? undefined : invitation_id && "id",
    interview_id: interview_id === undefined ? undefined : "interview",
  };
}

Deno.test(
  "tools/list: each tool's schemas are its endpoint's, as the OpenAPI document gives them",
  async () => {
    const openapi = (await callFunction(server.functionsUrl, "openapi", { method: "GET" })).body;
    const schemas = openapi.components.schemas;
    const client = await connect();
    try {
      const { tools } = await client.listTools() as { tools: Tool[] };
      const byName = new Map(tools.map((tool) => [tool.name, tool]));
      assert.deepEqual([...byName.keys()].sort(), [
        "cancel_registration",
        "generate_interview_url",
        "get_registration",
        "invite_candidates",
        "invite_users",
        "list_registrations",
        "register_users_for_interview",
      ]);
      // Request and answer schemas by the OpenAPI document's name, or (query and path parameters there) the zod
      // schema the route validates with.
      const expected: Record<
        string,
        { request: string | Json; response: string; key?: string; reads?: true }
      > = {
        register_users_for_interview: {
          request: "JobInterviewRegisterUsersRequest",
          response: "JobInterviewRegisterUsersResponse",
          key: "users",
        },
        invite_users: { request: "InviteUsersRequest", response: "InviteUsersResponse", key: "users" },
        invite_candidates: { request: "Micro1InviteRequest", response: "Micro1InviteResponse" },
        generate_interview_url: {
          request: "JobInterviewTokenRequest",
          response: "JobInterviewTokenResponse",
          key: "interview_url",
        },
        list_registrations: {
          request: jsonSchema(ListRegistrationsQuery),
          response: "RegistrationList",
          reads: true,
        },
        get_registration: { request: jsonSchema(RegistrationRequest), response: "Registration", reads: true },
        cancel_registration: { request: jsonSchema(RegistrationRequest), response: "CancelledRegistration" },
      };
      for (const [name, { request, response, key, reads }] of Object.entries(expected)) {
        const tool = byName.get(name)!;
        assert.deepEqual(tool.inputSchema, typeof request === "string" ? schemas[request] : request, name);
        if (key) {
          assert.deepEqual(tool.outputSchema?.properties, { [key]: schemas[response] }, name);
          assert.deepEqual(tool.outputSchema?.required, [key], name);
        } else {
          assert.deepEqual(tool.outputSchema, schemas[response], name);
        }
        // Reads are marked so; every other tool writes, and clients must ask first.
        assert.equal(tool.annotations?.readOnlyHint, !!reads, name);
        assert.equal(tool.annotations?.destructiveHint, !reads, name);
        if (!reads && name !== "cancel_registration") assert.match(tool.description!, /credit/, name);
      }
      // The list's filters are the query parameters the OpenAPI document gives GET /registrations.
      const listed = openapi.paths["/registrations"].get.parameters.map((p: Json) => p.name).sort();
      assert.deepEqual(Object.keys(byName.get("list_registrations")!.inputSchema.properties!).sort(), listed);
      // The configured batch limit is in the listed schema, as in the OpenAPI document.
      assert.equal(
        (byName.get("register_users_for_interview")!.inputSchema.properties as Json).users.maxItems,
        20,
      );
      assert.match(client.getInstructions()!, /confirm with the user/);
    } finally {
      await client.close();
    }
  },
);

Deno.test(
  "register_users_for_interview answers row by row as the HTTP endpoint does, and its link redeems once",
  async () => {
    const viaHttp = await merchantWithKey({ credits: 10 });
    const viaMcp = await merchantWithKey({ credits: 10 });
    const users = (tag: string) => [
      { name: "Peter Parker", email: `peter-${tag}@example.com`, external_id: "abcd", crm: { id: 7 } },
      { name: "No Email" },
      { email: "not-an-email" },
      { email: `peter-${tag}@EXAMPLE.com` },
      // A row with an invalid field is echoed as sent; keys the answer owns are not echoed.
      {
        name: 5,
        email: `five-${tag}@example.com`,
        interview_url: "https://evil.example",
        profile_interview_id: 1,
      },
      { name: "x".repeat(301), email: `long-${tag}@example.com` },
      { name: "MJ", email: `mj-${tag}@example.com` },
    ];
    const tag = crypto.randomUUID();
    const http = await callFunction(server.functionsUrl, REGISTER, {
      headers: { "x-api-key": viaHttp.key },
      body: { interview_id: viaHttp.interviewId, hide_menu: "true", users: users(tag) },
    });
    assert.equal(http.status, 200, JSON.stringify(http.body));

    const client = await connect(bearer(viaMcp.key));
    try {
      const result = answer(
        await call(client, "register_users_for_interview", {
          interview_id: viaMcp.interviewId,
          hide_menu: "true",
          users: users(tag),
        }),
      );
      assert.equal(result.users.length, users(tag).length);
      assert.deepEqual(result.users.map(comparable), http.body.map(comparable));
      assert.deepEqual(
        result.users.map((row: Json) => row.result),
        [
          "ok",
          "Error: Email is required",
          "Error: Invalid email",
          "Error: Duplicate email in request",
          "Error: Invalid name",
          "Error: Invalid name: at most 300 characters",
          "ok",
        ],
      );
      assert.deepEqual(result.users[4], {
        name: 5,
        email: `five-${tag}@example.com`,
        result: "Error: Invalid name",
      });
      assert.deepEqual(result.users[0].crm, { id: 7 });
      assert.equal(new URL(result.users[0].interview_url).searchParams.get("view_hm"), "true");

      const footprints = [
        await merchantFootprint(sql, viaHttp.merchantId),
        await merchantFootprint(sql, viaMcp.merchantId),
      ];
      assert.deepEqual(footprints[1], footprints[0]);
      assert.equal(footprints[1].credits, 8);

      // The link works, once.
      const token = tokenOf(result.users[0].interview_url);
      const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
        body: { interview_token: token },
      });
      assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
      assert.equal(redeemed.body.profile_interview_id, result.users[0].profile_interview_id);
      assert.equal(redeemed.body.merchant_id, viaMcp.merchantId);
      const again = await callFunction(server.functionsUrl, "interview-token-redeem", {
        body: { interview_token: token },
      });
      assert.equal(again.status, 410);
    } finally {
      await client.close();
    }
  },
);

Deno.test("invite_users answers row by row as the HTTP endpoint does", async () => {
  const viaHttp = await createMerchant(sql, { credits: 10 });
  const viaMcp = await createMerchant(sql, { credits: 10 });
  const tag = crypto.randomUUID();
  const body = (interviewId: string) => ({
    mojito_language_code: "fr",
    message_from_recruiter: "Welcome!",
    users: [
      { name: "Cand", email: `cand-${tag}@example.com`, type: "candidate", interview_id: interviewId },
      { name: "Mia", email: `mia-${tag}@example.com`, type: "mentor" },
      { email: `team-${tag}@example.com`, type: "merchant" },
      { email: `nobody-${tag}@example.com`, type: "candidate" },
      { email: `bad-${tag}@example.com`, type: "superuser" },
      { email: `mia-${tag}@example.com`, type: "user" },
      { email: SEED_COACH, type: "user" },
    ],
  });
  const http = await callFunction(server.functionsUrl, INVITE, {
    token: await userToken(viaHttp.ownerId),
    body: body(viaHttp.interviewId),
  });
  assert.equal(http.status, 200, JSON.stringify(http.body));
  const client = await connect(bearer(await userToken(viaMcp.ownerId)));
  try {
    const result = answer(await call(client, "invite_users", body(viaMcp.interviewId)));
    assert.deepEqual(result.users.map(comparable), http.body.map(comparable));
    assert.deepEqual(result.users.map((row: Json) => row.result), [
      "Invited",
      "Invited",
      "Invited",
      "Error: interview_id is required for candidates",
      "Error: Invalid type",
      "Error: Duplicate email in request",
      "CoachingAccessAdded",
    ]);
    const emails = async (merchantId: string) =>
      (await sql`select count(*)::int as n from email_outbox where merchant_id = ${merchantId}`)[0].n;
    assert.equal(await emails(viaMcp.merchantId), await emails(viaHttp.merchantId));
    assert.equal(await credits(sql, viaMcp.merchantId), 9);
  } finally {
    await client.close();
  }
});
const SEED_COACH = "coach@globex.example";

Deno.test("invite_candidates is micro1's invite: the same answer, all or nothing", async () => {
  const merchant = await merchantWithKey({ credits: 1 });
  const client = await connect({ "x-api-key": merchant.key });
  try {
    const tag = crypto.randomUUID();
    const two = {
      interview_id: merchant.interviewId,
      disable_email_notification: true,
      candidates: [{ name: "A", email: `a-${tag}@example.com` }, {
        name: "B",
        email: `b-${tag}@example.com`,
      }],
    };
    const http = await callFunction(server.functionsUrl, "interview/invite", {
      headers: { "x-api-key": merchant.key },
      body: two,
    });
    assert.equal(http.status, 400);
    const refused = toolError(await call(client, "invite_candidates", two));
    assert.deepEqual(refused, {
      error: "Not enough interview credits for every candidate: nobody was invited",
      status: 402,
    });
    assert.equal(http.body.message, refused.error, "micro1's envelope over the same message");
    assert.equal(await credits(sql, merchant.merchantId), 1);

    const one = { ...two, candidates: two.candidates.slice(0, 1) };
    const result = answer(await call(client, "invite_candidates", one));
    assert.equal(result.status, true);
    assert.equal(result.message, "Invitations created; no email sent");
    assert.equal(result.data.invitations[0].candidate_email, `a-${tag}@example.com`);
    assert.equal(await credits(sql, merchant.merchantId), 0);
  } finally {
    await client.close();
  }
});

Deno.test("bad input is refused as the HTTP API refuses it, and writes nothing", async () => {
  const merchant = await merchantWithKey();
  const before = await merchantFootprint(sql, merchant.merchantId);
  const user = () => ({ email: `bad-${crypto.randomUUID()}@example.com` });
  const cases: [string, string, Record<string, unknown>][] = [
    [REGISTER, "register_users_for_interview", { users: [user()] }],
    [REGISTER, "register_users_for_interview", { interview_id: "nope", users: [user()] }],
    [REGISTER, "register_users_for_interview", { interview_id: merchant.interviewId, users: [] }],
    [REGISTER, "register_users_for_interview", { interview_id: merchant.interviewId, users: "ann" }],
    [REGISTER, "register_users_for_interview", {
      interview_id: merchant.interviewId,
      users: Array.from({ length: 21 }, user),
    }],
    [REGISTER, "register_users_for_interview", {
      interview_id: merchant.interviewId,
      users: [user()],
      type: "sms",
    }],
    [REGISTER, "register_users_for_interview", {
      interview_id: merchant.interviewId,
      users: [user()],
      type: "url",
      send_email: true,
    }],
    [REGISTER, "register_users_for_interview", { interview_id: SEED.archivedInterview, users: [user()] }],
    [REGISTER, "register_users_for_interview", { interview_id: crypto.randomUUID(), users: [user()] }],
    [INVITE, "invite_users", { users: [user()], mojito_language_code: "xx" }],
    [INVITE, "invite_users", { users: [user()], message_from_recruiter: "x".repeat(2001) }],
    [INVITE, "invite_users", {}],
    // Nesting JSON.stringify could not give back: the rows would commit and their answer fail.
    [REGISTER, "register_users_for_interview", {
      interview_id: merchant.interviewId,
      users: [{ ...user(), extra: JSON.parse("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH)) }],
    }],
    ["interview/invite", "invite_candidates", { interview_id: merchant.interviewId }],
  ];
  const client = await connect(bearer(merchant.key));
  try {
    for (const [fn, tool, args] of cases) {
      const http = await callFunction(server.functionsUrl, fn, { headers: bearer(merchant.key), body: args });
      const refused = toolError(await call(client, tool, args));
      if (fn === "interview/invite") {
        assert.equal(refused.status, 422);
        assert.equal(`${refused.name}: ${refused.error}`, http.body.message);
      } else {
        assert.deepEqual(refused, { ...http.body, status: http.status }, `${tool} ${JSON.stringify(args)}`);
      }
      assert.equal(refused.status, 422, JSON.stringify(refused));
    }
    assert.deepEqual(await merchantFootprint(sql, merchant.merchantId), before);
  } finally {
    await client.close();
  }
});

Deno.test(
  "credentials: the HTTP API's, refused with its messages as tool errors; the client carries on",
  async () => {
    const merchant = await merchantWithKey();
    const revoked = await callFunction(server.functionsUrl, "api-keys", {
      token: await userToken(merchant.ownerId),
      body: { name: "to revoke" },
    });
    const revoke = await callFunction(server.functionsUrl, `api-keys/${revoked.body.id}`, {
      token: await userToken(merchant.ownerId),
      method: "DELETE",
    });
    assert.equal(revoke.status, 200);
    const args = {
      interview_id: merchant.interviewId,
      users: [{ email: `cred-${crypto.randomUUID()}@example.com` }],
    };
    const credentials: [string, Record<string, string>][] = [
      ["none", {}],
      ["not Bearer", { authorization: "Basic abc" }],
      ["malformed key", bearer("jmk_short")],
      ["unknown key", bearer(`jmk_${"A".repeat(43)}`)],
      ["revoked key", bearer(revoked.body.key)],
      ["expired JWT", bearer(await userToken(merchant.ownerId, { expiresIn: -60 }))],
      [
        "JWT signed with another secret",
        bearer(await userToken(merchant.ownerId, { secret: "x".repeat(40) })),
      ],
      ["wrong sb_secret_", bearer("sb_secret_wrong")],
      ["staff without the role", bearer(await userToken(SEED.selection))],
    ];
    for (const [what, headers] of credentials) {
      const http = await callFunction(server.functionsUrl, REGISTER, { headers, body: args });
      assert(http.status === 401 || http.status === 403, `${what}: ${http.status}`);
      const client = await connect(headers);
      try {
        // Listing needs no credential: it shows the public schemas only.
        assert.equal((await client.listTools()).tools.length, MCP_TOOLS.length);
        const refused = toolError(await call(client, "register_users_for_interview", args));
        assert.deepEqual(refused, { ...http.body, status: http.status }, what);
        // The same client goes on working after the refusal.
        assert.equal((await client.listTools()).tools.length, MCP_TOOLS.length);
      } finally {
        await client.close();
      }
    }
    assert.equal(await credits(sql, merchant.merchantId), 1000);
  },
);

Deno.test(
  "another merchant's ids are refused as over HTTP; an out-of-credits merchant's rows fail",
  async () => {
    const merchant = await merchantWithKey();
    const client = await connect(bearer(merchant.key));
    const initech = await connect(bearer(await userToken(SEED.initechOwner)));
    try {
      const user = () => [{ email: `other-${crypto.randomUUID()}@example.com` }];
      const cases: [string, string, Record<string, unknown>][] = [
        [REGISTER, "register_users_for_interview", { interview_id: SEED.initechInterview, users: user() }],
        [REGISTER, "register_users_for_interview", { interview_id: SEED.activeInterview, users: user() }],
        [REGISTER, "register_users_for_interview", {
          interview_id: merchant.interviewId,
          merchant_id: SEED.globex,
          users: user(),
        }],
        [INVITE, "invite_users", { merchant_id: SEED.parentMerchant, users: user() }],
      ];
      for (const [fn, tool, args] of cases) {
        const http = await callFunction(server.functionsUrl, fn, {
          headers: bearer(merchant.key),
          body: args,
        });
        assert(http.status === 403 || http.status === 422, `${http.status}`);
        assert.deepEqual(toolError(await call(client, tool, args)), { ...http.body, status: http.status });
      }

      // Initech has no credits: every new candidate's row fails, nothing is spent.
      const args = { interview_id: SEED.initechInterview, users: [...user(), ...user()] };
      const http = await callFunction(server.functionsUrl, REGISTER, {
        token: await userToken(SEED.initechOwner),
        body: args,
      });
      const result = answer(await call(initech, "register_users_for_interview", args));
      assert.deepEqual(result.users.map((row: Json) => row.result), http.body.map((row: Json) => row.result));
      assert.deepEqual(result.users.map((row: Json) => row.result), [
        "Error: Not enough interview credits",
        "Error: Not enough interview credits",
      ]);
      // The same for a candidate invited to Initech's interview, and all or nothing for micro1's invite.
      const invite = { users: [{ ...user()[0], type: "candidate", interview_id: SEED.initechInterview }] };
      const httpInvite = await callFunction(server.functionsUrl, INVITE, {
        token: await userToken(SEED.initechOwner),
        body: invite,
      });
      const invited = answer(await call(initech, "invite_users", invite));
      assert.deepEqual(invited.users, httpInvite.body);
      assert.equal(invited.users[0].result, "Error: Not enough interview credits");
      const refused = toolError(
        await call(initech, "invite_candidates", {
          interview_id: SEED.initechInterview,
          candidates: [{ name: "Ann", ...user()[0] }],
        }),
      );
      assert.equal(refused.status, 402);
      assert.equal(await credits(sql, SEED.initech), 0);
    } finally {
      await client.close();
      await initech.close();
    }
  },
);

Deno.test(
  "two clients at once race for the last credits: each credit spent once, every link distinct",
  async () => {
    const merchant = await merchantWithKey({ credits: 15 });
    const clients = [
      await connect(bearer(merchant.key)),
      await connect(bearer(await userToken(merchant.ownerId))),
    ];
    try {
      const calls = clients.flatMap((client, c) =>
        Array.from({ length: 5 }, (_, i) =>
          call(client, "register_users_for_interview", {
            interview_id: merchant.interviewId,
            users: Array.from({ length: 2 }, (_, u) => ({ email: `race-${c}-${i}-${u}@example.com` })),
          }))
      );
      const rows = (await Promise.all(calls)).flatMap((result: CallToolResult) => answer(result).users);
      const ok = rows.filter((row: Json) => row.result === "ok");
      assert.equal(ok.length, 15);
      assert.equal(rows.length - ok.length, 5);
      assert(
        rows.every((row: Json) =>
          row.result === "ok" || row.result === "Error: Not enough interview credits"
        ),
      );
      assert.equal(new Set(ok.map((row: Json) => row.interview_url)).size, 15);
      assert.equal(await credits(sql, merchant.merchantId), 0);
      const [{ n }] =
        await sql`select count(*)::int as n from profile_interviews where merchant_id = ${merchant.merchantId}`;
      assert.equal(n, 15);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  },
);

Deno.test(
  "a call past its deadline is a tool error saying when to retry, and writes nothing",
  async () => {
    await using api = await startTestServer({ requestTimeoutMs: 500 });
    const merchant = await merchantWithKey({ credits: 10 });
    const before = await merchantFootprint(sql, merchant.merchantId);
    const client = await connect(bearer(merchant.key), `${api.functionsUrl}/mcp`);
    const blocker = await sql.reserve();
    try {
      await blocker`begin`;
      await blocker`select 1 from merchants where id = ${merchant.merchantId} for update`;
      const refused = toolError(
        await call(client, "register_users_for_interview", {
          interview_id: merchant.interviewId,
          users: [{ email: `late-${crypto.randomUUID()}@example.com` }],
        }),
      );
      assert.deepEqual(refused, {
        error: "The database did not answer in time, retry later",
        status: 503,
        retry_after_seconds: 5,
      });
    } finally {
      await blocker`rollback`;
      blocker.release();
      await client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await merchantFootprint(sql, merchant.merchantId), before);
  },
);

Deno.test(
  "protocol edges: an unknown tool, GET and DELETE, a service key, the seeded local key",
  async () => {
    const client = await connect(bearer(LOCAL_SECRET_KEY));
    try {
      await assert.rejects(call(client, "drop_everything", {}), /Unknown tool: drop_everything/);
      // The service key acts for the merchant it names, as over HTTP.
      const refused = toolError(
        await call(client, "register_users_for_interview", {
          interview_id: SEED.activeInterview,
          users: [{ email: `svc-${crypto.randomUUID()}@example.com` }],
        }),
      );
      assert.equal(refused.status, 422);
      assert.equal(refused.name, "merchant_id");
      const result = answer(
        await call(client, "register_users_for_interview", {
          merchant_id: SEED.parentMerchant,
          interview_id: SEED.activeInterview,
          is_test: true,
          users: [{ email: `svc-${crypto.randomUUID()}@example.com` }],
        }),
      );
      assert.equal(result.users[0].result, "ok");
    } finally {
      await client.close();
    }
    const acme = await connect(bearer(LOCAL_ACME_API_KEY));
    try {
      const result = answer(
        await call(acme, "register_users_for_interview", {
          interview_id: SEED.activeInterview,
          is_test: true,
          users: [{ email: `readme-${crypto.randomUUID()}@example.com` }],
        }),
      );
      assert.equal(result.users[0].result, "ok");
    } finally {
      await acme.close();
    }
    for (const method of ["GET", "DELETE"]) {
      const res = await fetch(`${server.functionsUrl}/mcp`, {
        method,
        headers: { accept: "text/event-stream" },
      });
      await res.body?.cancel();
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "POST");
    }
  },
);

Deno.test(
  "a fault mid-call is a tool error with the request id its cause is logged under; nothing written, the client carries on",
  async () => {
    const merchant = await merchantWithKey({ credits: 10 });
    const tag = merchant.merchantId.slice(0, 8);
    await sql.unsafe(`
      create function pg_temp_mcp_fault_${tag}() returns trigger language plpgsql as $$
      begin raise exception 'secret internal detail %', new.id; end $$;
      create trigger mcp_fault_${tag} before insert on profile_interviews for each row
        when (new.merchant_id = '${merchant.merchantId}') execute function pg_temp_mcp_fault_${tag}();`);
    const client = await connect(bearer(merchant.key));
    try {
      const before = await merchantFootprint(sql, merchant.merchantId);
      const { result, lines } = await captureLogs(() =>
        call(client, "register_users_for_interview", {
          interview_id: merchant.interviewId,
          users: [{ email: `fault-${tag}@example.com` }],
        })
      );
      const refused = toolError(result);
      assert.deepEqual(Object.keys(refused).sort(), ["error", "request_id", "status"]);
      assert.deepEqual([refused.error, refused.status], ["Internal server error", 500]);
      assert(!JSON.stringify(result).includes("secret internal detail"));
      const logged = lines.filter((line) => line.includes(refused.request_id)).map((line) =>
        JSON.parse(line)
      );
      assert(logged.some((entry) => entry.level === "error" && /secret internal detail/.test(entry.error)));
      assert(logged.some((entry) => entry.msg === "mcp tool call" && entry.status === 500));
      assert(!lines.some((line) => line.includes(merchant.key)), "the key is never logged");
      assert.deepEqual(await merchantFootprint(sql, merchant.merchantId), before);
      assert.equal((await client.listTools()).tools.length, MCP_TOOLS.length);
    } finally {
      await client.close();
      await sql.unsafe(`drop trigger mcp_fault_${tag} on profile_interviews;
        drop function pg_temp_mcp_fault_${tag}();`);
    }
  },
);

Deno.test("the database unreachable: a tool error saying when to retry", async () => {
  await using down = await startTestServer({
    databaseUrl: "postgresql://postgres:postgres@127.0.0.1:9/none",
  });
  const client = await connect(bearer(LOCAL_ACME_API_KEY), `${down.functionsUrl}/mcp`);
  try {
    const http = await callFunction(down.functionsUrl, REGISTER, {
      headers: bearer(LOCAL_ACME_API_KEY),
      body: { interview_id: SEED.activeInterview, users: [{ email: "down@example.com" }] },
    });
    assert.equal(http.status, 503);
    const refused = toolError(
      await call(client, "register_users_for_interview", {
        interview_id: SEED.activeInterview,
        users: [{ email: "down@example.com" }],
      }),
    );
    assert.deepEqual(refused, {
      ...http.body,
      status: 503,
      retry_after_seconds: Number(http.headers.get("retry-after")),
    });
  } finally {
    await client.close();
  }
});

Deno.test(
  "generate_interview_url and the registration tools answer as their endpoints do",
  async () => {
    const merchant = await merchantWithKey({ credits: 10 });
    const headers = bearer(merchant.key);
    const client = await connect(headers);
    try {
      const registered = answer(
        await call(client, "register_users_for_interview", {
          interview_id: merchant.interviewId,
          users: [{ name: "Ann", email: `reads-${crypto.randomUUID()}@example.com` }, {
            email: `reads-${crypto.randomUUID()}@example.com`,
          }],
        }),
      ).users;
      const [first, second] = registered.map((row: Json) => row.profile_interview_id);

      // generate_interview_url: a new link for the candidate, the earlier one revoked, as over HTTP.
      const { profile_id } = (await sql`select profile_id from profile_interviews where id = ${first}`)[0];
      const args = {
        type: "interview-for-profile",
        interview_id: merchant.interviewId,
        interview_profile_id: profile_id,
      };
      const viaMcp = answer(await call(client, "generate_interview_url", args)).interview_url;
      const viaHttp = await callFunction(server.functionsUrl, "job-interview-token", { headers, body: args });
      assert.equal(viaHttp.status, 200);
      assert.equal(typeof viaMcp, "string");
      assert.equal(viaMcp.split("?")[0], viaHttp.body.split("?")[0]);
      for (const url of [registered[0].interview_url, viaMcp]) {
        const redeemed = await callFunction(server.functionsUrl, "interview-token-redeem", {
          body: { interview_token: tokenOf(url) },
        });
        assert.equal(redeemed.status, 410, "replaced by the newer link");
      }
      assert.deepEqual(
        toolError(await call(client, "generate_interview_url", { ...args, type: "interview-result" })),
        {
          ...(await callFunction(server.functionsUrl, "job-interview-token", {
            headers,
            body: { ...args, type: "interview-result" },
          })).body,
          status: 422,
        },
      );
      assert.equal(await credits(sql, merchant.merchantId), 8, "the open registration was reused");

      // Reads: the very same JSON as the HTTP endpoints.
      const list = answer(await call(client, "list_registrations", { limit: 1, offset: 1 }));
      const httpList = await callFunction(server.functionsUrl, "registrations?limit=1&offset=1", {
        headers,
        method: "GET",
      });
      assert.deepEqual(list, httpList.body);
      assert.equal(list.pagination.total, 2);
      const one = answer(await call(client, "get_registration", { registration_id: second }));
      const httpOne = await callFunction(server.functionsUrl, `registrations/${second}`, {
        headers,
        method: "GET",
      });
      assert.deepEqual(one, httpOne.body);
      for (const id of ["nope", crypto.randomUUID()]) {
        const http = await callFunction(server.functionsUrl, `registrations/${id}`, {
          headers,
          method: "GET",
        });
        assert.deepEqual(toolError(await call(client, "get_registration", { registration_id: id })), {
          ...http.body,
          status: http.status,
        });
      }
      const badFilter = { status: "lost" };
      const httpBad = await callFunction(server.functionsUrl, "registrations?status=lost", {
        headers,
        method: "GET",
      });
      assert.deepEqual(toolError(await call(client, "list_registrations", badFilter)), {
        ...httpBad.body,
        status: httpBad.status,
      });

      // cancel_registration: the credit comes back, the registration reads cancelled.
      const cancelled = answer(await call(client, "cancel_registration", { registration_id: second }));
      assert.equal(cancelled.status, "cancelled");
      assert.equal(cancelled.credit_returned, true);
      assert.equal(await credits(sql, merchant.merchantId), 9);
      const after = await callFunction(server.functionsUrl, `registrations/${second}`, {
        headers,
        method: "GET",
      });
      assert.equal(after.body.status, "cancelled");

      // Another merchant's registration is not found, as over HTTP.
      const other = await connect(bearer(await userToken(SEED.globexOwner)));
      try {
        assert.deepEqual(toolError(await call(other, "get_registration", { registration_id: first })), {
          ...(await callFunction(server.functionsUrl, `registrations/${first}`, {
            token: await userToken(SEED.globexOwner),
            method: "GET",
          })).body,
          status: 404,
        });
      } finally {
        await other.close();
      }
    } finally {
      await client.close();
    }
  },
);
