import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { log } from "../log.ts";
import type { Runtime } from "../runtime.ts";

export const HEALTH_FUNCTION = "health";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const HEALTH_REQUIRES: readonly Requirement[] = ["databaseUrl"];

/** How long the database has to answer before the check calls it unavailable. */
export const HEALTH_DATABASE_TIMEOUT_MS = 2000;

/**
 * Whether `select 1` comes back within the timeout, through the pool as requests reach it (db.ts: a query
 * still running at the deadline is cancelled, and the answer does not wait for it).
 */
async function databaseAnswers(runtime: Runtime, timeoutMs: number): Promise<boolean> {
  try {
    await runtime.db.query(Date.now() + timeoutMs, (sql) => sql`select 1 as one`);
    return true;
  } catch (err) {
    log("warn", "health check: the database did not answer", {
      error: err instanceof Error ? err.message : String(err),
      error_code: (err as { code?: unknown }).code,
    });
    return false;
  }
}

/**
 * GET /health: 200 when this function and its database answer, 503 (with Retry-After) when the database
 * does not. No credential, and nothing in the answer but the two verdicts: no versions, hosts or errors.
 */
export function healthApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(HEALTH_FUNCTION, runtime.config);

  app.get("/", async (c) => {
    const ok = await databaseAnswers(runtime, HEALTH_DATABASE_TIMEOUT_MS);
    c.header("Cache-Control", "no-store");
    if (ok) return c.json({ status: "ok", database: "ok" });
    return c.json({ status: "unavailable", database: "unavailable" }, 503, { "Retry-After": "5" });
  });
  return app;
}
