import type { Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { ApiError } from "../errors.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { uuid } from "../schemas.ts";
import { createWebhookEndpoints } from "../webhook_endpoints/manage.ts";
import {
  CreateWebhookEndpointRequest,
  ListWebhookDeliveriesQuery,
  ReplayWebhookDeliveriesRequest,
  RotateWebhookSecretRequest,
  UpdateWebhookEndpointRequest,
  WebhookEndpointQuery,
} from "../webhook_endpoints/schemas.ts";

export const WEBHOOK_ENDPOINTS_FUNCTION = "webhook-endpoints";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const WEBHOOK_ENDPOINTS_REQUIRES: readonly Requirement[] = ["databaseUrl", "supabaseUrl"];

const EndpointId = uuid("The endpoint's id.");

/**
 * /webhook-endpoints: where a merchant's webhook events go (docs/webhook-endpoints.md). POST creates an
 * endpoint (its signing secret is in that answer only), GET lists them; /<id> is one (GET, PATCH, DELETE),
 * with /disable, /enable, /rotate-secret, /test (a test event), /deliveries (GET) and /replay (send
 * deliveries again). For the merchant's owners, admins, the service key naming it, and its API keys.
 */
export function webhookEndpointsApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(WEBHOOK_ENDPOINTS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const endpoints = createWebhookEndpoints(runtime);

  /** The caller, the path's endpoint id (404 when it is no UUID) and the query's merchant_id. */
  const target = async (c: Context<AppEnv>) => {
    const caller = await authenticate(c.req.raw.headers);
    const id = c.req.param("id") ?? "";
    if (!EndpointId.safeParse(id).success) throw new ApiError(404, "Webhook endpoint not found");
    const { merchant_id } = validate(WebhookEndpointQuery, c.req.query());
    return { caller, id, merchantId: merchant_id ?? null, deadline: c.get("deadline") };
  };
  /** A keyed write's answer: Idempotent-Replayed when it was stored. */
  const answer = <T extends object>(
    c: Context<AppEnv>,
    { result, replayed }: { result: T; replayed: boolean },
    status: ContentfulStatusCode = 200,
  ) => {
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(result, status);
  };

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const raw = await readJsonObject(c);
    const body = validate(CreateWebhookEndpointRequest, raw);
    const key = idempotencyKeyOf(c.req.raw.headers, WEBHOOK_ENDPOINTS_FUNCTION, raw);
    return answer(c, await endpoints.create(caller, body, key, c.get("deadline")), 201);
  });

  app.get("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { merchant_id } = validate(WebhookEndpointQuery, c.req.query());
    return c.json(await endpoints.list(caller, merchant_id ?? null, c.get("deadline")));
  });

  app.get("/:id", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    return c.json(await endpoints.get(caller, merchantId, id, deadline));
  });

  app.patch("/:id", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    const changes = validate(UpdateWebhookEndpointRequest, await readJsonObject(c));
    return c.json(await endpoints.update(caller, merchantId, id, changes, deadline));
  });

  app.delete("/:id", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    return c.json(await endpoints.delete(caller, merchantId, id, deadline));
  });

  app.post("/:id/disable", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    return c.json(await endpoints.setEnabled(caller, merchantId, id, false, deadline));
  });

  app.post("/:id/enable", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    return c.json(await endpoints.setEnabled(caller, merchantId, id, true, deadline));
  });

  app.post("/:id/rotate-secret", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    const raw = await readOptionalJsonObject(c);
    const request = validate(RotateWebhookSecretRequest, raw);
    const key = idempotencyKeyOf(c.req.raw.headers, `${WEBHOOK_ENDPOINTS_FUNCTION}/${id}/rotate-secret`, raw);
    return answer(c, await endpoints.rotateSecret(caller, merchantId, id, request, key, deadline));
  });

  app.post("/:id/test", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    const key = idempotencyKeyOf(c.req.raw.headers, `${WEBHOOK_ENDPOINTS_FUNCTION}/${id}/test`, {});
    return answer(c, await endpoints.sendTestEvent(caller, merchantId, id, key, deadline), 202);
  });

  app.get("/:id/deliveries", async (c) => {
    const { caller, id, deadline } = await target(c);
    const query = validate(ListWebhookDeliveriesQuery, c.req.query());
    return c.json(await endpoints.listDeliveries(caller, id, query, deadline));
  });

  app.post("/:id/replay", async (c) => {
    const { caller, merchantId, id, deadline } = await target(c);
    const raw = await readJsonObject(c);
    const request = validate(ReplayWebhookDeliveriesRequest, raw);
    const key = idempotencyKeyOf(c.req.raw.headers, `${WEBHOOK_ENDPOINTS_FUNCTION}/${id}/replay`, raw);
    return answer(c, await endpoints.replay(caller, merchantId, id, request, key, deadline));
  });
  return app;
}

/** A body that may be left out: none (or an empty one) is `{}`. */
async function readOptionalJsonObject(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  const length = c.req.header("content-length");
  if (length === "0" || (length === undefined && !c.req.raw.body)) return {};
  return await readJsonObject(c);
}
