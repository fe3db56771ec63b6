import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { createFailedEmails } from "../email/failures.ts";
import { ApiError } from "../errors.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { FailedEmailsQuery, RetryEmailsRequest } from "../schemas.ts";

export const EMAIL_FAILURES_FUNCTION = "email-failures";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const EMAIL_FAILURES_REQUIRES: readonly Requirement[] = ["databaseUrl", "supabaseUrl"];

/**
 * Failed email, for operators holding the service key (docs/email.md "Failed messages"):
 * GET /email-failures lists failed messages with their reasons, a page at a time;
 * POST /email-failures/retry queues one again, or every one failed since a time.
 */
export function emailFailuresApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(EMAIL_FAILURES_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const failures = createFailedEmails(runtime);
  const operatorOnly = async (headers: Headers) => {
    const caller = await authenticate(headers);
    if (caller.kind !== "service") throw new ApiError(403, "Role not permitted");
  };

  app.get("/", async (c) => {
    await operatorOnly(c.req.raw.headers);
    const query = validate(FailedEmailsQuery, c.req.query());
    return c.json(await failures.list(query, c.get("deadline")));
  });
  app.post("/retry", async (c) => {
    await operatorOnly(c.req.raw.headers);
    const request = validate(RetryEmailsRequest, await readJsonObject(c));
    return c.json(await failures.retry(request, c.get("deadline")));
  });
  return app;
}
