/**
 * The database path under concurrency and waits (supabase/functions/_shared/db.ts): transactions never
 * share a pooled connection, every wait ends at the request's deadline with a 503 that committed nothing.
 * The mixed-load version of these guarantees, with a frozen and a restarted database, is tests/soak_test.ts.
 */
import assert from "node:assert/strict";
import { LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { DEADLINE_GRACE_MS } from "../supabase/functions/_shared/db.ts";
import { startTestServer } from "./_support/server.ts";
import { userToken } from "./_support/credentials.ts";
import { createMerchant, merchantFootprint } from "./_support/fixtures.ts";
import { callFunction } from "./_support/http.ts";
import { lockWaiter } from "./_support/email.ts";
import { fileServer } from "./_support/suite.ts";

const server = await fileServer();
const { sql } = server.runtime;

Deno.test(
  "400 invite-users requests, 16 at a time, on a pool of 10: every one 200 (a transaction once ran on a shared connection: 500 UNSAFE_TRANSACTION)",
  async () => {
    const fixture = await createMerchant(sql);
    const tag = crypto.randomUUID().slice(0, 8);
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < 400) {
        const i = next++;
        const reply = await callFunction(server.functionsUrl, "invite-users", {
          token: LOCAL_SECRET_KEY,
          body: {
            merchant_id: fixture.merchantId,
            users: [{ email: `p${i}-${tag}@example.com`, type: "user" }],
          },
        });
        statuses.push(reply.status);
      }
    }));
    assert.deepEqual(statuses.filter((s) => s !== 200), []);
    const [{ invited }] = await sql`select count(*)::int as invited from merchant_invitations
      where merchant_id = ${fixture.merchantId}`;
    assert.equal(invited, 400);
  },
);

Deno.test(
  "a registration blocked past its deadline is a 503 with Retry-After, and nothing of it commits once the block lifts",
  async () => {
    await using api = await startTestServer({ requestTimeoutMs: 500 });
    const fixture = await createMerchant(sql, { credits: 10 });
    const before = await merchantFootprint(sql, fixture.merchantId);
    // Another session holds the merchant's row, as a stuck transaction would.
    const blocker = await sql.reserve();
    try {
      await blocker`begin`;
      await blocker`select 1 from merchants where id = ${fixture.merchantId} for update`;
      const started = performance.now();
      const reply = await callFunction(api.functionsUrl, "job-interview-register-users", {
        token: await userToken(fixture.ownerId),
        body: {
          interview_id: fixture.interviewId,
          users: [{ email: `blocked-${crypto.randomUUID()}@example.com` }],
        },
      });
      const waited = performance.now() - started;
      assert.equal(reply.status, 503, JSON.stringify(reply.body));
      assert.equal(reply.headers.get("retry-after"), "5");
      assert.match(reply.body.error, /retry later/);
      assert(waited < 500 + DEADLINE_GRACE_MS + 1_000, `answered after ${waited} ms`);
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    // Whatever the statement does once it gets the row, it is past its deadline: it rolls back.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      await merchantFootprint(sql, fixture.merchantId),
      before,
      "nothing written, no credit spent",
    );
  },
);

Deno.test(
  "a request waiting for a connection gives up at its deadline: a 503, and it never reaches the database",
  async () => {
    await using api = await startTestServer({ requestTimeoutMs: 500, dbPoolSize: 1 });
    const fixture = await createMerchant(sql, { credits: 10 });
    const token = await userToken(fixture.ownerId);
    const blocker = await sql.reserve();
    try {
      await blocker`begin`;
      await blocker`select 1 from merchants where id = ${fixture.merchantId} for update`;
      // The pool's one connection is taken by a registration blocked on the row...
      const first = callFunction(api.functionsUrl, "job-interview-register-users", {
        token,
        body: {
          interview_id: fixture.interviewId,
          users: [{ email: `first-${crypto.randomUUID()}@example.com` }],
        },
      });
      await lockWaiter(sql, "app.register_users");
      // ...so the next one waits for it in the API, and gives up there.
      const second = await callFunction(api.functionsUrl, "interview-token-redeem", {
        body: { interview_token: "x.y.z" },
      });
      assert.equal(second.status, 401, "the redemption's token is checked before any wait");
      const third = await callFunction(api.functionsUrl, "job-interview-register-users", {
        token,
        body: {
          interview_id: fixture.interviewId,
          users: [{ email: `third-${crypto.randomUUID()}@example.com` }],
        },
      });
      assert.equal(third.status, 503);
      assert.equal((await first).status, 503);
    } finally {
      await blocker`rollback`;
      blocker.release();
    }
    // Neither the registration that waited in the API nor the one blocked in the database wrote anything.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual((await merchantFootprint(sql, fixture.merchantId)).registrations, 0);
  },
);

Deno.test(
  "invite-users naming 1,000 unknown interview ids fails those rows without taking the merchant's batch lock",
  async () => {
    const fixture = await createMerchant(sql);
    const tag = crypto.randomUUID().slice(0, 8);
    // Another session holds the merchant's batch lock exclusively: a request that took it would wait.
    const holder = await sql.reserve();
    try {
      await holder`select pg_advisory_lock(app.merchant_lock_key('credits', ${fixture.merchantId}::uuid))`;
      const reply = await callFunction(server.functionsUrl, "invite-users", {
        token: LOCAL_SECRET_KEY,
        body: {
          merchant_id: fixture.merchantId,
          users: Array.from({ length: 1000 }, (_, i) => ({
            email: `c${i}-${tag}@example.com`,
            type: "candidate",
            interview_id: crypto.randomUUID(),
          })),
        },
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body).slice(0, 300));
      assert.deepEqual(
        new Set(reply.body.map((row: { result: string }) => row.result)),
        new Set(["Error: Interview not found"]),
      );
    } finally {
      await holder`select pg_advisory_unlock_all()`;
      holder.release();
    }
  },
);
