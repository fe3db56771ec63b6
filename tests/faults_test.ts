import assert from "node:assert/strict";
import { startTestServer } from "./_support/server.ts";
import { SEED, userToken } from "./_support/credentials.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { captureLogs } from "./_support/logs.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer();
const { sql } = server.runtime;
const FN = "job-interview-register-users";

Deno.test(
  "500: a fault mid-request answers with a request id, leaks nothing and writes nothing",
  async () => {
    const fixture = await createMerchant(sql, { credits: 10 });
    // A fault inside the transaction, after profiles were inserted: scoped to this fixture's merchant.
    await sql.unsafe(`
    create function pg_temp_fault_${fixture.merchantId.slice(0, 8)}() returns trigger language plpgsql as $$
    begin raise exception 'secret internal detail %', new.id; end $$;
    create trigger fault_${fixture.merchantId.slice(0, 8)} before insert on profile_interviews for each row
      when (new.merchant_id = '${fixture.merchantId}') execute function pg_temp_fault_${
      fixture.merchantId.slice(0, 8)
    }();`);
    try {
      const before = await merchantFootprint(sql, fixture.merchantId);
      const token = await userToken(fixture.ownerId);
      const { result: reply, lines } = await captureLogs(() =>
        callFunction(server.functionsUrl, FN, {
          token,
          body: {
            interview_id: fixture.interviewId,
            users: [{ email: "a@fault.example" }, { email: "b@fault.example" }],
          },
        })
      );
      assert.deepEqual(reply.status, 500);
      assert.deepEqual(Object.keys(reply.body).sort(), ["error", "request_id"]);
      assert.deepEqual(reply.body.error, "Internal server error");
      assert.deepEqual(reply.body.request_id, reply.headers.get("x-request-id"));
      assert(!JSON.stringify(reply.body).includes("secret internal detail"));
      const logged = lines.filter((line) => line.includes(reply.body.request_id)).map((line) =>
        JSON.parse(line)
      );
      assert(
        logged.some((entry) => entry.level === "error" && /secret internal detail/.test(entry.error)),
        "the cause is in the log",
      );
      assert(!lines.some((line) => line.includes(token)), "the token is never logged");
      assert.deepEqual(
        await merchantFootprint(sql, fixture.merchantId),
        before,
        "nothing written, no credit spent",
      );
    } finally {
      await sql.unsafe(`drop trigger fault_${fixture.merchantId.slice(0, 8)} on profile_interviews;
      drop function pg_temp_fault_${fixture.merchantId.slice(0, 8)}();`);
    }
  },
);

Deno.test(
  "503 with Retry-After when the credits keep changing under a batch: after three passes, nothing written",
  async () => {
    const fixture = await createMerchant(sql, { credits: 10 });
    const tag = fixture.merchantId.slice(0, 8);
    // Every decrement of this merchant's credits vanishes, as if a top-up or a
    // completion changed the row each time the batch came to pay.
    await sql.unsafe(`
    create function pg_temp_vanish_${tag}() returns trigger language plpgsql as $$
    begin return null; end $$;
    create trigger vanish_${tag} before update on merchants for each row
      when (new.id = '${fixture.merchantId}') execute function pg_temp_vanish_${tag}();`);
    try {
      const before = await merchantFootprint(sql, fixture.merchantId);
      const reply = await callFunction(server.functionsUrl, FN, {
        token: await userToken(fixture.ownerId),
        body: { interview_id: fixture.interviewId, users: [{ email: "a@busy.example" }] },
      });
      assert.deepEqual(reply.status, 503);
      assert.deepEqual(reply.headers.get("retry-after"), "5");
      assert.match(reply.body.error, /retry/);
      assert.deepEqual(await merchantFootprint(sql, fixture.merchantId), before);
    } finally {
      await sql.unsafe(`drop trigger vanish_${tag} on merchants; drop function pg_temp_vanish_${tag}();`);
    }
  },
);

Deno.test("503 with Retry-After when the database is unreachable", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (closed.addr as Deno.NetAddr).port;
  closed.close(); // Nothing listens there now: connections are refused.
  const down = await startTestServer({
    databaseUrl: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
  });
  try {
    const reply = await callFunction(down.functionsUrl, FN, {
      token: await userToken(SEED.owner),
      body: { interview_id: SEED.activeInterview, users: [{ email: "down@example.com" }] },
    });
    assert.deepEqual(reply.status, 503);
    assert.deepEqual(reply.headers.get("retry-after"), "5");
    assert.match(reply.body.error, /retry/i);
    const redeem = await callFunction(down.functionsUrl, "interview-token-redeem", {
      body: { interview_token: await signedInterviewToken() },
    });
    assert.deepEqual(redeem.status, 503);
  } finally {
    await down.close();
  }
});

Deno.test("connections killed by the server are replaced: the next request succeeds", async () => {
  const token = await userToken(SEED.owner);
  const body = {
    interview_id: SEED.activeInterview,
    is_test: true,
    users: [{ email: `kill-${crypto.randomUUID()}@example.com` }],
  };
  assert.deepEqual((await callFunction(server.functionsUrl, FN, { token, body })).status, 200);
  await sql`select pg_terminate_backend(pid) from pg_stat_activity
    where application_name = 'jobmojito-functions' and pid <> pg_backend_pid()`;
  const after = await callFunction(server.functionsUrl, FN, { token, body });
  assert(after.status === 200 || after.status === 503, `got ${after.status}`);
  const retry = await callFunction(server.functionsUrl, FN, { token, body });
  assert.deepEqual(retry.status, 200);
});

Deno.test("access logs are JSON with the request id and never hold a token or key", async () => {
  const token = await userToken(SEED.owner);
  const { result: replies, lines } = await captureLogs(async () => [
    await callFunction(server.functionsUrl, FN, {
      token,
      body: {
        interview_id: SEED.activeInterview,
        is_test: true,
        users: [{ email: `log-${crypto.randomUUID()}@example.com` }],
      },
    }),
    await callFunction(server.functionsUrl, FN, {
      token: LOCAL_SECRET_KEY,
      body: { interview_id: SEED.activeInterview, users: [] },
    }),
  ]);
  const interviewToken = new URL(replies[0].body[0].interview_url).searchParams.get("interview_token")!;
  const redeemed = await captureLogs(() =>
    callFunction(server.functionsUrl, "interview-token-redeem", { body: { interview_token: interviewToken } })
  );
  const all = [...lines, ...redeemed.lines];
  assert(all.length >= 3);
  for (const line of all) {
    const entry = JSON.parse(line);
    assert.deepEqual(typeof entry.request_id, "string");
    for (const secret of [token, LOCAL_SECRET_KEY, interviewToken]) {
      assert(!line.includes(secret), `leaked in ${line}`);
    }
  }
  const access = JSON.parse(lines[0]);
  assert.deepEqual([access.method, access.status, access.function], ["POST", 200, FN]);
  assert.deepEqual(access.request_id, replies[0].headers.get("x-request-id"));
});

async function signedInterviewToken(): Promise<string> {
  const { interviewTokenKey, mintInterviewToken } = await import(
    "../supabase/functions/_shared/interviews/token.ts"
  );
  const now = Math.floor(Date.now() / 1000);
  return await mintInterviewToken(await interviewTokenKey(server.runtime.config.interviewTokenSecret), {
    jti: crypto.randomUUID(),
    sub: crypto.randomUUID(),
    iat: now,
    exp: now + 60,
    profile_interview_id: crypto.randomUUID(),
    interview_id: crypto.randomUUID(),
    merchant_id: crypto.randomUUID(),
    is_test: false,
  });
}

Deno.test("a client that hangs up mid-body is logged as its abort, not as a server error", async () => {
  const { lines } = await captureLogs(async () => {
    const { hostname, port } = new URL(server.baseUrl);
    const conn = await Deno.connect({ hostname, port: Number(port) });
    const head = [
      `POST /functions/v1/${FN} HTTP/1.1`,
      `Host: ${hostname}`,
      `Authorization: Bearer ${LOCAL_SECRET_KEY}`,
      "Content-Type: application/json",
      "Content-Length: 1000",
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(`${head}{"interview_id": "`));
    // Give the server time to start reading the body, then hang up.
    await new Promise((resolve) => setTimeout(resolve, 200));
    conn.close();
    // The server answers the cut-off request (to nobody) at once; its log line follows.
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
  const [access] = lines.map((line) => JSON.parse(line))
    .filter((entry) => entry.msg === "request" && entry.function === FN);
  assert.deepEqual([access.level, access.status, access.client_aborted], ["info", 400, true]);
  assert(!lines.some((line) => line.includes("unexpected error")), lines.join("\n"));
});
