import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { ApiError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { createWebhookDispatcher } from "../webhooks/dispatcher.ts";

export const WEBHOOK_DISPATCH_FUNCTION = "webhook-dispatch";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const WEBHOOK_DISPATCH_REQUIRES: readonly Requirement[] = ["supabaseUrl", "databaseUrl"];

/**
 * POST /webhook-dispatch: attempts the due webhook deliveries, up to
 * WEBHOOK_DISPATCH_BUDGET_SECONDS and WEBHOOK_DISPATCH_MAX_DELIVERIES per
 * invocation, and says what it did. Meant for a scheduler (pg_cron + pg_net,
 * supabase/deploy/schedule_webhook_dispatch.sql) calling with the service
 * key; overlapping invocations are safe, each delivery goes to one of them.
 */
export function webhookDispatchApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(WEBHOOK_DISPATCH_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    if (caller.kind !== "service") throw new ApiError(403, "Role not permitted");
    const started = performance.now();
    const settings = runtime.config.webhooks;
    const dispatcher = createWebhookDispatcher({
      sql: runtime.sql,
      config: runtime.config,
      logFields: { request_id: c.get("requestId") },
    });
    return c.json(
      await dispatcher.dispatch({
        deadline: started + settings.dispatchBudgetSeconds * 1000,
        maxMessages: settings.dispatchMaxDeliveries,
      }),
    );
  });
  return app;
}
