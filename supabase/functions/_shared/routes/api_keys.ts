import type { Hono } from "hono";
import { createApiKeyManager } from "../api_keys/manage.ts";
import { CreateApiKeyRequest, ListApiKeysQuery } from "../api_keys/schemas.ts";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { ApiError } from "../errors.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { uuid } from "../schemas.ts";

export const API_KEYS_FUNCTION = "api-keys";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const API_KEYS_REQUIRES: readonly Requirement[] = ["databaseUrl", "supabaseUrl"];

const KeyId = uuid("The key's id.");

/**
 * /api-keys: a merchant's long-lived API keys. POST creates one (the secret is in that response only),
 * GET lists them, DELETE /api-keys/<id> revokes one. For merchant owners, admins and the service key.
 */
export function apiKeysApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(API_KEYS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const keys = createApiKeyManager(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const body = validate(CreateApiKeyRequest, await readJsonObject(c));
    return c.json(await keys.create(caller, body, c.get("deadline")), 201);
  });

  app.get("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { merchant_id } = validate(ListApiKeysQuery, c.req.query());
    return c.json(await keys.list(caller, merchant_id ?? null, c.get("deadline")));
  });

  app.delete("/:id", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const id = c.req.param("id");
    if (!KeyId.safeParse(id).success) throw new ApiError(404, "API key not found");
    return c.json(await keys.revoke(caller, id, c.get("deadline")));
  });
  return app;
}
