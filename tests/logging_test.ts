/**
 * Log volume on hosted Supabase, where each function's logs are rate-limited: LOG_LEVEL drops what is
 * below it, successful requests' access lines are sampled at LOG_REQUEST_SAMPLE_RATE, and refusals and
 * failures are always written, a refusal with its reason.
 */
import assert from "node:assert/strict";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { log, setLogLevel } from "../supabase/functions/_shared/log.ts";
import { callFunction } from "./_support/http.ts";
import { captureLogs } from "./_support/logs.ts";
import { startTestServer } from "./_support/server.ts";
import { sharedAcrossTests } from "./_support/suite.ts";

sharedAcrossTests();

Deno.test("successes are sampled, refusals always logged with their reason", async () => {
  const config = loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV, LOG_REQUEST_SAMPLE_RATE: "0" });
  await using server = await startTestServer(config);
  const { lines } = await captureLogs(async () => {
    for (let i = 0; i < 20; i++) {
      assert.equal((await callFunction(server.functionsUrl, "health", { method: "GET" })).status, 200);
    }
    const refused = await callFunction(server.functionsUrl, "interview-complete", { body: {} });
    assert.equal(refused.status, 401);
    // The local gateway's own refusals read the same.
    assert.equal(
      (await callFunction(server.functionsUrl, "no-such-function", { method: "GET" })).status,
      404,
    );
  });
  const access = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");
  assert.deepEqual(access.map((line) => [line.status, line.level]), [[401, "warn"], [404, "warn"]]);
  assert.ok(access[0].reason.length > 0, JSON.stringify(access[0]));
  assert.equal(access[1].reason, "Function not found");

  // At the default rate of 1 every success is logged.
  await using full = await startTestServer();
  const { lines: all } = await captureLogs(async () => {
    for (let i = 0; i < 5; i++) await callFunction(full.functionsUrl, "health", { method: "GET" });
  });
  assert.equal(all.filter((line) => JSON.parse(line).msg === "request").length, 5);
});

Deno.test("LOG_LEVEL drops the levels below it", async () => {
  try {
    const { lines } = await captureLogs(() => {
      setLogLevel("warn");
      log("debug", "a");
      log("info", "b");
      log("warn", "c");
      log("error", "d");
      setLogLevel("debug");
      log("debug", "e");
      return Promise.resolve();
    });
    assert.deepEqual(lines.map((line) => JSON.parse(line).msg), ["c", "d", "e"]);
  } finally {
    setLogLevel("info");
  }
});
