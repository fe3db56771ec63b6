import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { ALL_REQUIREMENTS, type Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { createDispatcher } from "../email/dispatcher.ts";
import { createTemplateRenderer } from "../email/templates.ts";
import { createSmtpTransport } from "../email/transport.ts";
import { ApiError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";

export const EMAIL_DISPATCH_FUNCTION = "email-dispatch";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const EMAIL_DISPATCH_REQUIRES: readonly Requirement[] = ALL_REQUIREMENTS;

/**
 * POST /email-dispatch: sends the outbox's due messages, up to
 * EMAIL_DISPATCH_BUDGET_SECONDS and EMAIL_DISPATCH_MAX_MESSAGES per
 * invocation (a hosted function also has a CPU-time cap per request), and
 * says what it did. Meant for a scheduler (pg_cron + pg_net, see
 * docs/email.md) calling with the service key; overlapping invocations are
 * safe, each message goes to one of them.
 */
export function emailDispatchApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(EMAIL_DISPATCH_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  // Parsed templates outlive invocations; SMTP connections do not (see below).
  const render = createTemplateRenderer();

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    if (caller.kind !== "service") throw new ApiError(403, "Role not permitted");
    const started = performance.now();
    // A connection pool per invocation: an edge function's instance may sleep
    // or go away between invocations, and must not leave connections behind.
    const transport = createSmtpTransport(runtime.config.email);
    try {
      const dispatcher = createDispatcher({
        sql: runtime.sql,
        config: runtime.config,
        transport,
        render,
        logFields: { request_id: c.get("requestId") },
      });
      const settings = runtime.config.email;
      return c.json(
        await dispatcher.dispatch({
          deadline: started + settings.dispatchBudgetSeconds * 1000,
          maxMessages: settings.dispatchMaxMessages,
        }),
      );
    } finally {
      transport.close();
    }
  });
  return app;
}
