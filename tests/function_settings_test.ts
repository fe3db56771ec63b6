/**
 * Each function as deployed: served alone, outside local mode, from an environment holding only the
 * variables its requirements name (`*_REQUIRES`), it answers its main path. A function that read a
 * setting it does not require would fail here with that variable's name; horizontal scale is several
 * such functions sharing a database, so a link one mints, another redeems.
 */
import assert from "node:assert/strict";
import { loadConfig, REQUIREMENTS } from "../supabase/functions/_shared/config.ts";
import { FUNCTION_DEFINITIONS } from "../supabase/functions/_shared/functions.ts";
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import { serveGateway } from "../scripts/gateway.ts";
import { createMerchant } from "./_support/fixtures.ts";
import { callFunction, tokenOf } from "./_support/http.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

sharedAcrossTests();
const KEY = "sb_secret_deployed_function_key_0123456789";
/** A hosted project's variables, as in tests/config_test.ts: the platform's and the deployment's. */
const PRODUCTION: Record<string, string> = {
  SUPABASE_URL: "https://abcdefghijklmnop.supabase.co",
  DATABASE_URL: Deno.env.get("DATABASE_URL")!,
  SUPABASE_SECRET_KEYS: JSON.stringify({ default: KEY }),
  INTERVIEW_TOKEN_SECRET: "hosted-interview-token-secret-0123456789abcdef",
  INVITATION_TOKEN_SECRET: "hosted-invitation-token-secret-0123456789abcdef",
  INTERVIEW_BASE_URL: "https://interview.example.com",
  SMTP_URL: "smtps://mailer:pw@smtp.example.com:465",
  EMAIL_FROM_ADDRESS: "no-reply@jobs.example.com",
};

/** One function, served with only the variables it requires (and the platform's secret keys). */
function deployed(name: string) {
  const { app, requires } = FUNCTION_DEFINITIONS[name];
  const variables = new Set<string>(["SUPABASE_SECRET_KEYS", ...requires.flatMap((r) => REQUIREMENTS[r])]);
  const env = Object.fromEntries(Object.entries(PRODUCTION).filter(([variable]) => variables.has(variable)));
  const runtime = createRuntime(loadConfig(env, requires));
  const gateway = serveGateway({ runtime, port: 0, functions: { [name]: app } });
  return {
    call: (path: string, options: Parameters<typeof callFunction>[2] = {}) =>
      callFunction(gateway.functionsUrl, path, { token: KEY, ...options }),
    async [Symbol.asyncDispose]() {
      await gateway.shutdown();
      if (requires.includes("databaseUrl")) await runtime.db.close(1);
    },
  };
}

Deno.test("every function, alone with only its own settings, serves its main path", async () => {
  const admin = createRuntime(loadConfig({ ...PRODUCTION }));
  try {
    const fixture = await createMerchant(admin.sql);
    const email = `alone-${crypto.randomUUID()}@example.com`;

    await using register = deployed("job-interview-register-users");
    const registered = await register.call("job-interview-register-users", {
      body: { merchant_id: fixture.merchantId, interview_id: fixture.interviewId, users: [{ email }] },
    });
    assert.equal(registered.status, 200, JSON.stringify(registered.body));
    assert.equal(registered.body[0].result, "ok");

    await using redeem = deployed("interview-token-redeem");
    const redeemed = await redeem.call("interview-token-redeem", {
      token: "",
      body: { interview_token: tokenOf(registered.body[0].interview_url) },
    });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));

    await using complete = deployed("interview-complete");
    const completed = await complete.call("interview-complete", {
      body: { profile_interview_id: registered.body[0].profile_interview_id },
    });
    assert.equal(completed.status, 200, JSON.stringify(completed.body));

    await using invite = deployed("invite-users");
    const invited = await invite.call("invite-users", {
      body: { merchant_id: fixture.merchantId, users: [{ email: `team-${email}`, type: "merchant" }] },
    });
    assert.equal(invited.status, 200, JSON.stringify(invited.body));
    assert.equal(invited.body[0].result, "Invited");

    await using failures = deployed("email-failures");
    assert.equal(
      (await failures.call(`email-failures?merchant_id=${fixture.merchantId}`, { method: "GET" })).status,
      200,
    );

    await using health = deployed("health");
    assert.equal((await health.call("health", { method: "GET", token: "" })).status, 200);

    await using openapi = deployed("openapi");
    const document = await openapi.call("openapi", { method: "GET", token: "" });
    assert.equal(document.status, 200);
    assert.equal(document.body.servers[0].url, `${PRODUCTION.SUPABASE_URL}/functions/v1`);
    assert.equal((await openapi.call("openapi/reference", { method: "GET", token: "" })).status, 200);

    await using apiKeys = deployed("api-keys");
    const keys = await apiKeys.call(`api-keys?merchant_id=${fixture.merchantId}`, { method: "GET" });
    assert.equal(keys.status, 200, JSON.stringify(keys.body));

    // micro1's invite registers as register-users does (tests/micro1_test.ts); alone, it starts and checks.
    await using micro1 = deployed("interview");
    assert.equal((await micro1.call("interview/invite", { token: "", body: {} })).status, 401);

    // The MCP server registers through register-users' operation: alone, with its tools' settings.
    await using mcp = deployed("mcp");
    const called = await mcp.call("mcp", {
      headers: { accept: "application/json, text/event-stream" },
      body: {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: {
          name: "register_users_for_interview",
          arguments: {
            merchant_id: fixture.merchantId,
            interview_id: fixture.interviewId,
            users: [{ email: `mcp-${email}` }],
          },
        },
      },
    });
    assert.equal(called.status, 200, JSON.stringify(called.body));
    assert.equal(called.body.result.structuredContent.users[0].result, "ok", JSON.stringify(called.body));

    // invite-accept takes its own user JWT (tests/invite_accept_test.ts); alone, it starts and refuses a key.
    await using accept = deployed("invite-accept");
    assert.equal((await accept.call("invite-accept", { body: { invitation_token: "x" } })).status, 403);
    // email-dispatch requires every setting; its main path is tested with a real SMTP server elsewhere.
    await using dispatch = deployed("email-dispatch");
    assert.equal((await dispatch.call("email-dispatch", { token: "" })).status, 401);
  } finally {
    await admin.db.close(1);
  }
});
