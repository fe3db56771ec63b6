import assert from "node:assert/strict";
import { Hono } from "hono";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { FUNCTIONS } from "../supabase/functions/_shared/functions.ts";
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import { serveGateway } from "../scripts/gateway.ts";
import { startTestServer } from "./_support/server.ts";

Deno.test("gateway: an unknown function is a JSON 404", async () => {
  await using server = await startTestServer();
  for (const path of ["/functions/v1/no-such-function", "/functions/v1/no-such-function/x?y=1"]) {
    const res = await fetch(`${server.baseUrl}${path}`, { method: "POST", body: "{}" });
    assert.equal(res.status, 404, path);
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await res.json(), { error: "Function not found" });
    assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/, "a request id, like every answer");
  }
});

Deno.test("gateway: paths outside /functions/v1/<name> are JSON 404s", async () => {
  await using server = await startTestServer();
  for (const path of ["/", "/functions/v1", "/functions/v1/", "/rest/v1/merchants"]) {
    const res = await fetch(`${server.baseUrl}${path}`);
    assert.equal(res.status, 404, path);
    assert.deepEqual(await res.json(), { error: "Not found" }, path);
  }
});

Deno.test("gateway: serves every function in FUNCTIONS at /functions/v1/<name>", async () => {
  await using server = await startTestServer();
  assert.ok(server.gateway.port > 0);
  assert.equal(server.functionsUrl, `http://127.0.0.1:${server.gateway.port}/functions/v1`);
  assert.deepEqual(server.gateway.functionNames, Object.keys(FUNCTIONS));
  for (const name of Object.keys(FUNCTIONS)) {
    // A CORS preflight reaches every app whatever its routes and auth.
    const preflight = await fetch(`${server.functionsUrl}/${name}`, {
      method: "OPTIONS",
      headers: { Origin: "http://example.test", "Access-Control-Request-Method": "POST" },
    });
    await preflight.body?.cancel();
    assert.ok(preflight.status < 300, `${name}: OPTIONS answered ${preflight.status}`);
    assert.ok(preflight.headers.has("access-control-allow-methods"), `${name}: no CORS headers`);

    const post = await fetch(`${server.functionsUrl}/${name}`, { method: "POST", body: "{}" });
    const text = await post.text();
    assert.ok(!text.includes("Function not found"), `${name}: ${post.status} ${text}`);
  }
});

Deno.test("gateway: the app sees /<name>/... with method, query string and body intact", async () => {
  const seen: { method: string; path: string; search: string; body: string }[] = [];
  const echo = () =>
    new Hono().basePath("/echo").all("/*", async (c) => {
      const url = new URL(c.req.url);
      seen.push({ method: c.req.method, path: url.pathname, search: url.search, body: await c.req.text() });
      return c.json({ ok: true }, 201);
    });
  const runtime = createRuntime(loadConfig());
  const gateway = serveGateway({ runtime, port: 0, functions: { echo } });
  try {
    const res = await fetch(`${gateway.functionsUrl}/echo/a/b?x=1&y=2`, { method: "PUT", body: "hello" });
    assert.equal(res.status, 201);
    assert.deepEqual(await res.json(), { ok: true });
    const bare = await fetch(`${gateway.functionsUrl}/echo`, { method: "POST", body: "x" });
    await bare.body?.cancel();
    assert.deepEqual(seen, [
      { method: "PUT", path: "/echo/a/b", search: "?x=1&y=2", body: "hello" },
      { method: "POST", path: "/echo", search: "", body: "x" },
    ]);
  } finally {
    await gateway.shutdown();
    await runtime.sql.end();
  }
});

Deno.test("gateway: aborting the signal stops the server", async () => {
  const runtime = createRuntime(loadConfig());
  const controller = new AbortController();
  const gateway = serveGateway({ runtime, port: 0, signal: controller.signal });
  try {
    const res = await fetch(`${gateway.baseUrl}/`);
    await res.body?.cancel();
    controller.abort();
    await gateway.finished;
    await assert.rejects(fetch(`${gateway.baseUrl}/`));
  } finally {
    await runtime.sql.end();
  }
});
