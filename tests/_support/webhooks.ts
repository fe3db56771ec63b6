/**
 * What the webhook tests share: a real HTTP receiver on loopback that verifies every request with the
 * Standard Webhooks library and Svix's verifier, endpoints set up by SQL (the management API is the
 * webhook-endpoints function's), and dispatchers with quick settings.
 */
import type postgres from "postgres";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import type { Dispatcher } from "../../supabase/functions/_shared/jobs/queue.ts";
import type { Runtime } from "../../supabase/functions/_shared/runtime.ts";
import type { WebhookConfig } from "../../supabase/functions/_shared/webhooks/config.ts";
import {
  createWebhookDispatcher,
  type WebhookDispatcherDeps,
} from "../../supabase/functions/_shared/webhooks/dispatcher.ts";
import type { Db } from "./fixtures.ts";
import { mintWebhookSecret } from "../../supabase/functions/_shared/webhook_endpoints/secret.ts";

/** One request as the receiver got it. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  // Tests read the parsed body freely.
  // deno-lint-ignore no-explicit-any
  json: any;
  headers: Headers;
  path: string;
}

/** What the receiver answers: a status (and body), or a promise to wait on first (a slow receiver). */
export type Answer = {
  status: number;
  body?: string;
  headers?: Record<string, string>;
  wait?: Promise<unknown>;
};

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Requests of one event type. */
  ofType(type: string): Received[];
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 (port 0 unless given) recording every request; `answer` decides the reply
 * (200 by default).
 */
export function startReceiver(
  answer: (request: Received, index: number) => Answer = () => ({ status: 200 }),
  port = 0,
): Receiver {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const text = await req.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch { /* recorded as text */ }
    const request: Received = {
      id: req.headers.get("webhook-id") ?? "",
      timestamp: req.headers.get("webhook-timestamp") ?? "",
      signature: req.headers.get("webhook-signature") ?? "",
      body: text,
      json,
      headers: req.headers,
      path: new URL(req.url).pathname,
    };
    received.push(request);
    const reply = answer(request, received.length - 1);
    if (reply.wait) await reply.wait;
    // 204 and the like carry no body.
    const body = [204, 205, 304].includes(reply.status) ? null : reply.body ?? "ok";
    return new Response(body, { status: reply.status, headers: reply.headers });
  });
  const close = async () => {
    await server.shutdown().catch(() => {});
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks`,
    port: server.addr.port,
    received,
    ofType: (type) => received.filter((r) => r.json?.type === type),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** A signing secret as the management API mints them. */
export const newSecret: () => string = mintWebhookSecret;

export interface EndpointFixture {
  id: string;
  secret: string;
}

/** An enabled endpoint of the merchant, written by SQL as the management API would. */
export async function createEndpoint(
  sql: Db,
  merchantId: string,
  url: string,
  eventTypes: string[],
  options: { previousSecret?: string; previousExpiresAt?: Date; failingSince?: Date; enabled?: boolean } = {},
): Promise<EndpointFixture> {
  const secret = newSecret();
  const enabled = options.enabled ?? true;
  const [{ id }] = await sql<{ id: string }[]>`
    insert into webhook_endpoints (merchant_id, url, event_types, secret, previous_secret,
      previous_secret_expires_at, failing_since, enabled, disabled_reason)
    values (${merchantId}, ${url}, ${eventTypes}, ${secret}, ${options.previousSecret ?? null},
      ${options.previousExpiresAt ?? null}, ${options.failingSince ?? null}, ${enabled},
      ${enabled ? null : "Disabled by its merchant"})
    returning id`;
  return { id, secret };
}

/** Verifies a request with the Standard Webhooks library and with Svix's verifier; returns the payload. */
export function verify(request: Received, secret: string): unknown {
  const headers = {
    "webhook-id": request.id,
    "webhook-timestamp": request.timestamp,
    "webhook-signature": request.signature,
  };
  // Svix's verifier throws on a bad signature and returns nothing.
  new SvixWebhook(secret).verify(request.body, headers);
  return new StandardWebhook(secret).verify(request.body, headers);
}

/** Whether a request verifies with a secret (by both verifiers alike). */
export function verifies(request: Received, secret: string): boolean {
  try {
    verify(request, secret);
    return true;
  } catch {
    return false;
  }
}

/** Settings that keep tests quick: retries due at once, short timeouts. */
export function testWebhookConfig(runtime: Runtime, overrides: Partial<WebhookConfig> = {}): WebhookConfig {
  return {
    ...runtime.config.webhooks,
    retryBaseSeconds: 0,
    retryMaxSeconds: 0,
    sendTimeoutMs: 2000,
    leaseSeconds: 30,
    pollIntervalMs: 50,
    ...overrides,
  };
}

/**
 * What the tests' dispatchers resolve and connect with unless a test says otherwise: only loopback. A
 * delivery another test file left behind for a public host is refused here, never attempted.
 */
export const LOOPBACK_ONLY: Required<Pick<WebhookDispatcherDeps, "resolve" | "fetch">> = {
  resolve: (host) =>
    host === "localhost"
      ? Promise.resolve(["127.0.0.1"])
      : Promise.reject(new Error("tests resolve no names")),
  fetch: (input, init) => {
    const host = new URL(input instanceof Request ? input.url : String(input)).hostname;
    if (!["127.0.0.1", "[::1]", "localhost"].includes(host)) {
      return Promise.reject(new Error(`tests connect to loopback only, not ${host}`));
    }
    return fetch(input, init);
  },
};

/** A webhook dispatcher over `sql` (the runtime's pool by default) with test settings. */
export function webhookDispatcher(
  runtime: Runtime,
  overrides: Partial<WebhookConfig> = {},
  deps: Partial<Pick<WebhookDispatcherDeps, "sql" | "resolve" | "fetch">> & { local?: boolean } = {},
): Dispatcher {
  return createWebhookDispatcher({
    sql: deps.sql ?? runtime.sql,
    config: {
      ...runtime.config,
      local: deps.local ?? runtime.config.local,
      webhooks: testWebhookConfig(runtime, overrides),
    },
    resolve: deps.resolve ?? LOOPBACK_ONLY.resolve,
    fetch: deps.fetch ?? LOOPBACK_ONLY.fetch,
  });
}

/** The deliveries of an endpoint, oldest first, with their event's type. */
export function deliveriesOf(sql: postgres.Sql, endpointId: string) {
  return sql<
    {
      id: string;
      event_id: string;
      type: string;
      status: string;
      attempts: number;
      last_response_status: number | null;
      last_response_body: string | null;
      last_error: string | null;
    }[]
  >`select d.id, d.event_id, e.type, d.status::text, d.attempts, d.last_response_status,
      d.last_response_body, d.last_error
    from webhook_deliveries d join webhook_events e on e.id = d.event_id
    where d.endpoint_id = ${endpointId} order by e.created_at, d.id`;
}
