import type { Hono } from "hono";
import type { z } from "zod";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { callerSql, createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { MerchantBranding, MerchantBrandingRequest } from "../email/branding.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";

export const MERCHANT_BRANDING_FUNCTION = "merchant-branding";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const MERCHANT_BRANDING_REQUIRES: readonly Requirement[] = ["databaseUrl", "supabaseUrl"];

/**
 * POST /merchant-branding: a merchant's owner (or an admin, or the service key) sets the logo, brand colour
 * and invitation texts of its emails, and reads them back: the fields sent change, the rest stay, and the
 * answer is the branding now (a body with only merchant_id changes nothing).
 */
export function merchantBrandingApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(MERCHANT_BRANDING_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { merchant_id, ...changes } = validate(MerchantBrandingRequest, await readJsonObject(c));
    const [{ branding }] = await runtime.db.query(
      c.get("deadline"),
      (sql) =>
        sql<{ branding: z.infer<typeof MerchantBranding> }[]>`
        select app.merchant_branding(
          ${callerSql(sql, caller)},
          ${merchant_id ?? null}::uuid,
          ${sql.json(changes)}::jsonb
        ) as branding`,
    );
    return c.json(branding);
  });
  return app;
}
