/** The shapes of the webhook-endpoints function: the handlers validate with them and `openapi.ts` describes it from them. */
import { z } from "zod";
import { storable, UNSTORABLE, uuid } from "../schemas.ts";

/** The events an endpoint may subscribe to (docs/webhooks.md describes each payload). */
export const WEBHOOK_EVENT_TYPES = [
  "registration.created",
  "registration.started",
  "registration.completed",
  "registration.cancelled",
  "email.delivered",
  "email.failed",
  "invitation.accepted",
] as const;

/** What a test event is (POST /webhook-endpoints/<id>/test): sent to one endpoint, whatever it subscribes to. */
export const WEBHOOK_TEST_EVENT_TYPE = "webhook.test";

/** A merchant's endpoints at most: each event is sent to each subscribed endpoint, so they multiply the work. */
export const MAX_WEBHOOK_ENDPOINTS = 20;
export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 500;
/** How long a rotated-out secret keeps signing, by default and at most. */
export const DEFAULT_SECRET_GRACE_SECONDS = 24 * 3600;
export const MAX_SECRET_GRACE_SECONDS = 7 * 24 * 3600;
export const MAX_DELIVERIES_PAGE = 100;
/** Deliveries one replay by failed_since takes at most: it stays one quick statement and a small answer. */
export const MAX_REPLAYED_PER_REQUEST = 1000;

/** A body with a field we do not take is refused, naming it: a misspelt optional field would otherwise do nothing. */
const noUnknownFields = {
  error: (issue: z.core.$ZodRawIssue) =>
    issue.code === "unrecognized_keys"
      ? `Unknown field ${issue.keys.map((key) => JSON.stringify(key)).join(", ")}`
      : "Request body must be a JSON object",
};

const merchantId = () =>
  uuid(
    "The merchant whose endpoints these are: the caller's own by default (an API key's merchant, a user's " +
      "home merchant), or a sub-merchant of it; required with the service key.",
  ).nullish();

const url = z.string({ error: "Must be a string" }).trim().min(1, "Field is required.")
  .max(MAX_WEBHOOK_URL_LENGTH, `At most ${MAX_WEBHOOK_URL_LENGTH} characters`)
  .refine((value) => URL.canParse(value), "Must be a URL")
  .meta({
    description: "Where the events are POSTed: https, to a host whose every address is public (local mode " +
      "also takes http and loopback). Checked on every change and again before each delivery.",
    example: "https://ats.example.com/webhooks/jobmojito",
  });

const eventTypes = z.array(
  z.enum(WEBHOOK_EVENT_TYPES, { error: `Must be one of ${WEBHOOK_EVENT_TYPES.join(", ")}` }),
  { error: "Must be an array of event types" },
).min(1, "At least one event type").transform((types) => [...new Set(types)]).meta({
  description: "The events it receives.",
  example: ["registration.started", "registration.completed"],
});

const description = z.string({ error: "Must be a string or null" }).trim()
  .max(MAX_WEBHOOK_DESCRIPTION_LENGTH, `At most ${MAX_WEBHOOK_DESCRIPTION_LENGTH} characters`)
  .refine(storable, `Contains ${UNSTORABLE}`)
  .transform((value) => value === "" ? null : value)
  .nullish().meta({ description: "What it is for, shown in lists.", example: "ATS production" });

export const CreateWebhookEndpointRequest = z.strictObject({
  url,
  event_types: eventTypes,
  description,
  merchant_id: merchantId(),
}, noUnknownFields);

/** The query of every request about one endpoint, and of the list. */
export const WebhookEndpointQuery = z.object({ merchant_id: merchantId() });

export const UpdateWebhookEndpointRequest = z.strictObject({
  url: url.optional(),
  event_types: eventTypes.optional(),
  description,
}, noUnknownFields)
  .refine((body) => Object.keys(body).length > 0, "Give url, event_types or description");

export const RotateWebhookSecretRequest = z.strictObject({
  grace_period_seconds: z.number({ error: `Must be an integer from 0 to ${MAX_SECRET_GRACE_SECONDS}` })
    .int(`Must be an integer from 0 to ${MAX_SECRET_GRACE_SECONDS}`)
    .min(0, `Must be an integer from 0 to ${MAX_SECRET_GRACE_SECONDS}`)
    .max(MAX_SECRET_GRACE_SECONDS, `Must be an integer from 0 to ${MAX_SECRET_GRACE_SECONDS}`)
    .default(DEFAULT_SECRET_GRACE_SECONDS).meta({
      description: "How long the current secret keeps signing beside the new one (every delivery carries " +
        "both signatures), so receivers can switch without refusing a request: 24 hours by default, 0 " +
        "(stop at once) to 7 days.",
      default: DEFAULT_SECRET_GRACE_SECONDS,
    }),
}, noUnknownFields);

const timestamp = (description: string) =>
  z.iso.datetime({ offset: true, error: "Must be an ISO 8601 date-time with a time zone" })
    .meta({ description, example: "2026-12-01T09:00:00Z" });

export const DELIVERY_STATUSES = ["pending", "sending", "delivered", "failed"] as const;

export const ListWebhookDeliveriesQuery = z.object({
  merchant_id: merchantId(),
  status: z.enum(DELIVERY_STATUSES, { error: `Must be one of ${DELIVERY_STATUSES.join(", ")}` }).optional()
    .meta({ description: "Only deliveries in this status." }),
  limit: z.coerce.number({ error: `Must be an integer from 1 to ${MAX_DELIVERIES_PAGE}` })
    .int(`Must be an integer from 1 to ${MAX_DELIVERIES_PAGE}`)
    .min(1, `Must be an integer from 1 to ${MAX_DELIVERIES_PAGE}`)
    .max(MAX_DELIVERIES_PAGE, `Must be an integer from 1 to ${MAX_DELIVERIES_PAGE}`)
    .default(50).meta({ description: "Deliveries per page.", default: 50 }),
  cursor: z.string().optional().meta({ description: "The previous page's next_cursor." }),
});

export const ReplayWebhookDeliveriesRequest = z.strictObject({
  delivery_id: uuid("The one delivery to send again.").optional(),
  event_id: uuid("The one event to send again (its delivery to this endpoint).").optional(),
  failed_since: timestamp("Send again every delivery to this endpoint that failed at or after this time.")
    .optional(),
}, noUnknownFields)
  .refine(
    (body) =>
      [body.delivery_id, body.event_id, body.failed_since].filter((v) => v !== undefined).length === 1,
    "Give one of delivery_id, event_id and failed_since",
  );

export const WebhookEndpoint = z.object({
  id: z.guid(),
  merchant_id: z.guid(),
  url: z.string(),
  description: z.string().nullable(),
  event_types: z.array(z.string()),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable().meta({
    description: "Why it is disabled: through the API, or after failing for days.",
  }),
  failing_since: z.string().nullable().meta({
    description: "Its first failed attempt since its last success; null while it is healthy.",
  }),
  previous_secret_expires_at: z.string().nullable().meta({
    description: "After a rotation: until when the previous secret still signs beside the new one.",
  }),
  created_at: z.string(),
  updated_at: z.string(),
});

export const WebhookEndpointWithSecret = WebhookEndpoint.extend({
  secret: z.string().meta({
    description:
      "The signing secret (Standard Webhooks: whsec_ and base64 of 32 random bytes): shown in this " +
      "response only.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
});

export const WebhookEndpointList = z.object({
  merchant_id: z.guid(),
  webhook_endpoints: z.array(WebhookEndpoint).meta({ description: "Oldest first, disabled ones included." }),
});

export const WebhookTestEvent = z.object({
  event_id: z.guid().meta({ description: "The event: its webhook-id." }),
  event_type: z.literal(WEBHOOK_TEST_EVENT_TYPE),
  delivery_id: z.guid(),
  endpoint_id: z.guid(),
  created_at: z.string(),
});

export const WebhookDelivery = z.object({
  id: z.guid(),
  event_id: z.guid().meta({ description: "The event, sent as webhook-id on every attempt." }),
  event_type: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.int().meta({ description: "Attempts since it was queued (or last replayed)." }),
  next_attempt_at: z.string().nullable().meta({ description: "When it is due, while pending." }),
  last_attempt_at: z.string().nullable(),
  last_response_status: z.int().nullable().meta({
    description: "The receiver's HTTP status at the last attempt; null when it did not answer.",
  }),
  last_response_body: z.string().nullable().meta({ description: "The start of its body (1 KiB at most)." }),
  last_error: z.string().nullable().meta({ description: "Why the last attempt failed." }),
  delivered_at: z.string().nullable(),
  failed_at: z.string().nullable(),
  created_at: z.string(),
});

export const WebhookDeliveryList = z.object({
  deliveries: z.array(WebhookDelivery).meta({ description: "Newest first." }),
  next_cursor: z.string().nullable().meta({
    description: "Pass as cursor for the next page; null on the last.",
  }),
});

export const ReplayedWebhookDeliveries = z.object({
  endpoint_id: z.guid(),
  replayed: z.array(z.guid()).meta({
    description:
      "The deliveries queued again, oldest first: each is due now, its attempts counted from zero, " +
      "with its event's webhook-id unchanged.",
  }),
});
