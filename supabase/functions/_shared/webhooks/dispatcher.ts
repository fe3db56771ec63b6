import type postgres from "postgres";
import { Webhook } from "standardwebhooks";
import type { Config } from "../config.ts";
import { createJobDispatcher, type Dispatcher, type JobChannel, type RecordedStatus } from "../jobs/queue.ts";
import { checkWebhookUrl, type Resolver } from "./url_safety.ts";

/** A delivery as `app.claim_webhook_deliveries` hands it out. */
export interface ClaimedDelivery {
  id: string;
  /** Attempts so far, this one included. */
  attempts: number;
  endpoint_id: string;
  /** Sent as `webhook-id`: the same on every attempt and replay. */
  event_id: string;
  type: string;
  created_at: string;
  /** The body's `data`: the event's payload, with its event_id. */
  data: Record<string, unknown>;
}

/** A claimed delivery that `app.check_webhook_deliveries` cleared: where it goes and what signs it. */
export interface OutgoingDelivery extends ClaimedDelivery {
  url: string;
  /** The endpoint's secret, and its previous one during a rotation's grace period. */
  secrets: string[];
}

/** What the receiver answered (nothing when it could not be reached or the URL was refused). */
export interface ReceiverAnswer {
  status: number | null;
  body: string | null;
}

/** The most of a receiver's answer kept (webhook_deliveries.last_response_body). */
export const RESPONSE_BODY_CHARS = 1024;

export const USER_AGENT = "JobMojito-Webhooks/1.0";

/** The request body: the Standard Webhooks shape, the same bytes on every attempt. */
export function webhookBody(delivery: Pick<ClaimedDelivery, "type" | "created_at" | "data">): string {
  return JSON.stringify({
    type: delivery.type,
    timestamp: new Date(delivery.created_at).toISOString(),
    data: delivery.data,
  });
}

/**
 * The Standard Webhooks headers for one attempt, signed by the standardwebhooks library with every secret
 * given: during a rotation's grace period `webhook-signature` carries two signatures, space-separated,
 * and a receiver holding either secret verifies the request.
 */
export function signedHeaders(
  eventId: string,
  body: string,
  secrets: string[],
  at: Date = new Date(),
): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "webhook-id": eventId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((secret) => new Webhook(secret).sign(eventId, at, body)).join(" "),
  };
}

/** Up to `chars` characters of a body, without reading the rest of it. */
async function startOf(response: Response, chars: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  try {
    while (text.length < chars) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, chars);
}

export interface WebhookDispatcherDeps {
  sql: postgres.Sql;
  config: Config;
  /** Added to every log line, e.g. the id of the webhook-dispatch request this dispatcher serves. */
  logFields?: Record<string, unknown>;
  /** How hosts resolve for the URL check (tests inject answers); the system's resolver by default. */
  resolve?: Resolver;
  /** The HTTP client (tests count its calls); the global fetch by default. */
  fetch?: typeof fetch;
}

/**
 * Webhook deliveries as a channel of the job mechanism (_shared/jobs/queue.ts): claimed from
 * public.webhook_deliveries, checked a slot at a time right before they go out (the endpoint still
 * enabled; its URL and secrets as they are now), each URL checked again for safety (DNS may have
 * changed since the endpoint was made), signed, POSTed with a timeout and without following redirects,
 * and recorded with the receiver's status and the start of its body. A 2xx is delivered; anything else
 * is retried with backoff until the attempts run out. docs/webhooks.md.
 */
export function createWebhookDispatcher(deps: WebhookDispatcherDeps): Dispatcher {
  const { sql, config } = deps;
  const settings = config.webhooks;
  const send = deps.fetch ?? fetch;

  async function attempt(delivery: OutgoingDelivery) {
    const nothing: ReceiverAnswer = { status: null, body: null };
    const safety = await checkWebhookUrl(delivery.url, { local: config.local, resolve: deps.resolve });
    if (!safety.ok) {
      return {
        ok: false as const,
        permanent: false,
        error: `URL refused: ${safety.reason}`,
        detail: nothing,
      };
    }
    const body = webhookBody(delivery);
    const signal = AbortSignal.timeout(settings.sendTimeoutMs);
    try {
      const response = await send(safety.url, {
        method: "POST",
        headers: signedHeaders(delivery.event_id, body, delivery.secrets),
        body,
        redirect: "manual",
        signal,
      });
      const answer = { status: response.status, body: await startOf(response, RESPONSE_BODY_CHARS) };
      if (response.status >= 200 && response.status < 300) return { ok: true as const, detail: answer };
      const error = response.status >= 300 && response.status < 400
        ? `HTTP ${response.status}: redirect to ${response.headers.get("location") ?? "nowhere"} not followed`
        : `HTTP ${response.status}`;
      return { ok: false as const, permanent: false, error, detail: answer };
    } catch (err) {
      const error = signal.aborted
        ? `No answer within ${settings.sendTimeoutMs} ms`
        : `Could not connect: ${(err as Error).message}`;
      return { ok: false as const, permanent: false, error, detail: nothing };
    }
  }

  const channel: JobChannel<ClaimedDelivery, OutgoingDelivery, ReceiverAnswer> = {
    name: "webhook",
    idField: "delivery_id",
    settings,
    async claim(limit) {
      const [{ claim }] = await sql<
        { claim: { claim_id: string; failed: number; deliveries: ClaimedDelivery[] } }[]
      >`select app.claim_webhook_deliveries(
        ${limit}::int, ${Math.ceil(settings.leaseSeconds)}::int, ${settings.maxAttempts}::int) as claim`;
      return { claimId: claim.claim_id, failed: claim.failed, jobs: claim.deliveries };
    },
    async check(slot, claimId) {
      const rows = await sql<{ id: string; url: string; secrets: string[] }[]>`
        select id, url, secrets from app.check_webhook_deliveries(${
        slot.map((d) => d.id)
      }::uuid[], ${claimId}::uuid)`;
      const cleared = new Map(rows.map((row) => [row.id, row]));
      const ready = slot.filter((d) => cleared.has(d.id)).map((d) => ({ ...d, ...cleared.get(d.id)! }));
      return { ready, cancelled: slot.length - ready.length };
    },
    attempt,
    async record(outcome, claimId) {
      const row = {
        id: outcome.id,
        ok: outcome.ok,
        response_status: outcome.detail?.status ?? null,
        response_body: outcome.detail?.body ?? null,
        error: outcome.ok ? null : outcome.error,
        retry_after_seconds: outcome.retryAfterSeconds,
      };
      const [recorded] = await sql<{ status: string }[]>`
        select status from app.record_webhook_attempts(
          ${claimId}::uuid, ${sql.json([row])}::jsonb, ${Math.round(settings.disableAfterSeconds)}::int)`;
      if (!recorded) return null;
      return recorded.status === "delivered" ? "sent" : recorded.status as RecordedStatus;
    },
    async release(ids, claimId) {
      const [{ released }] = await sql<{ released: number }[]>`
        select app.release_webhook_deliveries(${ids}::uuid[], ${claimId}::uuid) as released`;
      return released;
    },
    describe: (delivery) => ({ event_id: delivery.event_id, type: delivery.type }),
  };
  return createJobDispatcher(channel, deps.logFields);
}
