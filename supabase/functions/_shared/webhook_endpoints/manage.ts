import type { z } from "zod";
import { type Caller, callerSql } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { createOnce, type IdempotencyKey, type Once } from "../idempotency.ts";
import type { Runtime } from "../runtime.ts";
import { checkWebhookUrl } from "../webhooks/url_safety.ts";
import {
  type CreateWebhookEndpointRequest,
  type ListWebhookDeliveriesQuery,
  MAX_REPLAYED_PER_REQUEST,
  MAX_WEBHOOK_ENDPOINTS,
  type ReplayedWebhookDeliveries,
  type ReplayWebhookDeliveriesRequest,
  type RotateWebhookSecretRequest,
  type UpdateWebhookEndpointRequest,
  type WebhookDelivery,
  type WebhookDeliveryList,
  type WebhookEndpoint,
  type WebhookEndpointList,
  type WebhookEndpointWithSecret,
  type WebhookTestEvent,
} from "./schemas.ts";
import { mintWebhookSecret } from "./secret.ts";
import { pageCursor } from "../cursor.ts";

type Endpoint = z.infer<typeof WebhookEndpoint>;

const cursors = pageCursor("created_at");
type PageEnd = ReturnType<typeof cursors.decode>;

/**
 * A merchant's webhook endpoints: one SQL call per request, which also authorizes the caller
 * (app.webhook_endpoint_merchant: owners, admins, the service key naming the merchant, its API keys).
 * The function's own work happens before that call: the URL's check (url_safety.ts, which resolves its
 * host) and minting a signing secret, which only the call's answer carries.
 */
export function createWebhookEndpoints(runtime: Runtime) {
  const { db, config } = runtime;
  const once = createOnce(runtime);

  /** A 422 naming `url` unless webhooks may be sent there; nothing is connected to. */
  async function checkUrl(url: string): Promise<void> {
    const check = await checkWebhookUrl(url, { local: config.local });
    if (!check.ok) {
      throw new ApiError(422, check.reason.charAt(0).toUpperCase() + check.reason.slice(1), "url");
    }
  }

  return {
    async create(
      caller: Caller,
      request: z.output<typeof CreateWebhookEndpointRequest>,
      key: IdempotencyKey | null,
      deadline: number,
    ): Promise<Once<z.infer<typeof WebhookEndpointWithSecret>, null>> {
      await checkUrl(request.url);
      const secret = mintWebhookSecret();
      const merchantId = request.merchant_id ?? null;
      return await once(caller, merchantId, key, null, (sql) =>
        sql`app.create_webhook_endpoint(
          ${callerSql(sql, caller)}, ${merchantId}::uuid, ${request.url}, ${request.event_types}::text[],
          ${request.description ?? null}, ${secret}, ${MAX_WEBHOOK_ENDPOINTS}::int
        )`, deadline);
    },

    async list(
      caller: Caller,
      merchantId: string | null,
      deadline: number,
    ): Promise<z.infer<typeof WebhookEndpointList>> {
      const [{ result }] = await db.query(
        deadline,
        (sql) =>
          sql<{ result: z.infer<typeof WebhookEndpointList> }[]>`
          select app.list_webhook_endpoints(${callerSql(sql, caller)}, ${merchantId}::uuid) as result`,
      );
      return result;
    },

    async get(caller: Caller, merchantId: string | null, id: string, deadline: number): Promise<Endpoint> {
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: Endpoint }[]>`
          select app.get_webhook_endpoint(${
          callerSql(sql, caller)
        }, ${merchantId}::uuid, ${id}::uuid) as result`);
      return result;
    },

    async update(
      caller: Caller,
      merchantId: string | null,
      id: string,
      changes: z.output<typeof UpdateWebhookEndpointRequest>,
      deadline: number,
    ): Promise<Endpoint> {
      if (changes.url !== undefined) await checkUrl(changes.url);
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: Endpoint }[]>`
          select app.update_webhook_endpoint(
            ${callerSql(sql, caller)}, ${merchantId}::uuid, ${id}::uuid, ${sql.json(changes)}::jsonb
          ) as result`);
      return result;
    },

    async setEnabled(
      caller: Caller,
      merchantId: string | null,
      id: string,
      enabled: boolean,
      deadline: number,
    ): Promise<Endpoint> {
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: Endpoint }[]>`
          select app.set_webhook_endpoint_enabled(
            ${callerSql(sql, caller)}, ${merchantId}::uuid, ${id}::uuid, ${enabled}
          ) as result`);
      return result;
    },

    async delete(caller: Caller, merchantId: string | null, id: string, deadline: number): Promise<Endpoint> {
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: Endpoint }[]>`
          select app.delete_webhook_endpoint(${
          callerSql(sql, caller)
        }, ${merchantId}::uuid, ${id}::uuid) as result`);
      return result;
    },

    rotateSecret(
      caller: Caller,
      merchantId: string | null,
      id: string,
      request: z.output<typeof RotateWebhookSecretRequest>,
      key: IdempotencyKey | null,
      deadline: number,
    ): Promise<Once<z.infer<typeof WebhookEndpointWithSecret>, null>> {
      const secret = mintWebhookSecret();
      return once(caller, merchantId, key, null, (sql) =>
        sql`app.rotate_webhook_endpoint_secret(
          ${callerSql(sql, caller)}, ${merchantId}::uuid, ${id}::uuid, ${secret},
          ${request.grace_period_seconds}::int
        )`, deadline);
    },

    sendTestEvent(
      caller: Caller,
      merchantId: string | null,
      id: string,
      key: IdempotencyKey | null,
      deadline: number,
    ): Promise<Once<z.infer<typeof WebhookTestEvent>, null>> {
      return once(
        caller,
        merchantId,
        key,
        null,
        (sql) =>
          sql`app.send_webhook_test_event(${callerSql(sql, caller)}, ${merchantId}::uuid, ${id}::uuid)`,
        deadline,
      );
    },

    async listDeliveries(
      caller: Caller,
      id: string,
      query: z.output<typeof ListWebhookDeliveriesQuery>,
      deadline: number,
    ): Promise<z.infer<typeof WebhookDeliveryList>> {
      const after = query.cursor === undefined ? null : cursors.decode(query.cursor);
      const [afterAt, afterId] = [after?.created_at ?? null, after?.id ?? null];
      type Page = { deliveries: z.infer<typeof WebhookDelivery>[]; next: PageEnd | null };
      // Times go as text: postgres.js sends a timestamptz parameter through a JS Date, which keeps
      // milliseconds only, and a cursor must name its row to the microsecond.
      const [{ page }] = await db.query(deadline, (sql) =>
        sql<{ page: Page }[]>`
          select app.list_webhook_deliveries(
            ${callerSql(sql, caller)}, ${query.merchant_id ?? null}::uuid, ${id}::uuid,
            ${query.status ?? null}::public.webhook_delivery_status, ${query.limit}::int,
            ${afterAt}::text::timestamptz, ${afterId}::uuid
          ) as page`);
      return { deliveries: page.deliveries, next_cursor: page.next ? cursors.encode(page.next) : null };
    },

    replay(
      caller: Caller,
      merchantId: string | null,
      id: string,
      request: z.output<typeof ReplayWebhookDeliveriesRequest>,
      key: IdempotencyKey | null,
      deadline: number,
    ): Promise<Once<z.infer<typeof ReplayedWebhookDeliveries>, null>> {
      return once(caller, merchantId, key, null, (sql) =>
        sql`app.replay_webhook_deliveries(
          ${callerSql(sql, caller)}, ${merchantId}::uuid, ${id}::uuid, ${request.delivery_id ?? null}::uuid,
          ${request.event_id ?? null}::uuid, ${request.failed_since ?? null}::text::timestamptz,
          ${MAX_REPLAYED_PER_REQUEST}::int
        )`, deadline);
    },
  };
}
