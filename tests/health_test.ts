/**
 * GET /functions/v1/health: no credential, 200 when the database answers, 503 with Retry-After when it is
 * unreachable or hung, and never more in the body than the two verdicts.
 */
import assert from "node:assert/strict";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { HEALTH_REQUIRES, healthApp } from "../supabase/functions/_shared/routes/health.ts";
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import { serveGateway } from "../scripts/gateway.ts";
import { callFunction } from "./_support/http.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

sharedAcrossTests();
const databaseUrl = loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl;

/** The health function alone, as deployed: outside local mode, with only the database URL it requires. */
function serveHealth(url: string) {
  const runtime = createRuntime(loadConfig({ DATABASE_URL: url }, HEALTH_REQUIRES));
  const gateway = serveGateway({ runtime, port: 0, functions: { health: healthApp } });
  return {
    functionsUrl: gateway.functionsUrl,
    async close() {
      await gateway.shutdown();
      await runtime.sql.end({ timeout: 1 });
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** A loopback port that accepts connections and never says a word: a database that hangs. */
function silentServer(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const conn of held) conn.close();
    },
  };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test(
  "health: 200 without a credential when the database answers, with nothing but the verdicts",
  async () => {
    await using server = serveHealth(databaseUrl);
    const reply = await callFunction(server.functionsUrl, "health", { method: "GET" });
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { status: "ok", database: "ok" });
    assert.equal(reply.headers.get("cache-control"), "no-store");
    assert.equal((await callFunction(server.functionsUrl, "health", { method: "POST" })).status, 405);
  },
);

for (
  const [what, database] of [
    ["unreachable", () => ({ port: closedPort(), close() {} })],
    ["hung", silentServer],
  ] as const
) {
  Deno.test(`health: 503 with Retry-After when the database is ${what}, leaking nothing`, async () => {
    const db = database();
    const url = `postgresql://postgres:secret-password@127.0.0.1:${db.port}/postgres`;
    const server = serveHealth(url);
    try {
      const reply = await callFunction(server.functionsUrl, "health", { method: "GET" });
      assert.equal(reply.status, 503);
      assert.equal(reply.headers.get("retry-after"), "5");
      assert.deepEqual(reply.body, { status: "unavailable", database: "unavailable" });
      const text = JSON.stringify(reply.body);
      for (
        const secret of ["127.0.0.1", String(db.port), "secret-password", "ECONN", "postgres", "timeout"]
      ) {
        assert.ok(!text.includes(secret), secret);
      }
    } finally {
      db.close();
      await server.close();
    }
  });
}
