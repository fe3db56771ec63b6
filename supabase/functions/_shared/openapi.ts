import { z } from "zod";
import type { Config } from "./config.ts";
import { HEALTH_DATABASE_TIMEOUT_MS } from "./routes/health.ts";
import {
  CompleteInterviewRequest,
  CompleteInterviewResponse,
  EmailDispatchResponse,
  ErrorBody,
  FailedEmailsQuery,
  FailedEmailsResponse,
  HealthResponse,
  JobInterviewTokenRequest,
  JobInterviewTokenResponse,
  RedeemRequest,
  RedeemResponse,
  registerUsersRequestSchema,
  RegisterUsersResponse,
  RetryEmailsRequest,
  RetryEmailsResponse,
  WebhookDispatchResponse,
} from "./schemas.ts";
import {
  InviteAcceptRequest,
  InviteAcceptResponse,
  inviteUsersRequestSchema,
  InviteUsersResponse,
} from "./invitations/schemas.ts";
import {
  ApiKey,
  ApiKeyList,
  CreateApiKeyRequest,
  CreatedApiKey,
  ListApiKeysQuery,
} from "./api_keys/schemas.ts";
import { Micro1Error, micro1InviteRequestSchema, Micro1InviteResponse } from "./micro1/schemas.ts";
import {
  CancelledRegistration,
  GetRegistrationQuery,
  ListRegistrationsQuery,
  Registration,
  RegistrationList,
} from "./registrations/schemas.ts";
import { MerchantBranding, MerchantBrandingRequest } from "./email/branding.ts";
import {
  CreateWebhookEndpointRequest,
  ListWebhookDeliveriesQuery,
  MAX_REPLAYED_PER_REQUEST,
  MAX_WEBHOOK_ENDPOINTS,
  ReplayedWebhookDeliveries,
  ReplayWebhookDeliveriesRequest,
  RotateWebhookSecretRequest,
  UpdateWebhookEndpointRequest,
  WebhookDeliveryList,
  WebhookEndpoint,
  WebhookEndpointList,
  WebhookEndpointQuery,
  WebhookEndpointWithSecret,
  WebhookTestEvent,
} from "./webhook_endpoints/schemas.ts";

/** OpenAPI 3.1 schemas are JSON Schema 2020-12, which zod emits natively. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
  });
  return rest;
}

/** The repository has chosen no open license yet (docs/decisions.md): until it does, none is claimed. */
const LICENSE = { name: "Proprietary", identifier: "LicenseRef-Proprietary" };

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errorResponse = (description: string, schema = "Error") => ({
  description,
  content: { "application/json": { schema: ref(schema) } },
});

/** What a route does, in the document: everything but its method and path, which come from the routes. */
interface Operation {
  operationId: string;
  tag: string;
  summary: string;
  description: string;
  /** Takes a credential (any of components.securitySchemes); false: none, or one of its own in the body. */
  authenticated: boolean;
  /** Absent for endpoints that take no body. */
  request?: string;
  /** The body may be left out. */
  requestOptional?: true;
  /** Query parameters, for GETs that take some. */
  query?: z.ZodObject;
  /** The schemas of the route's path parameters (`:id`), a string by default. */
  pathParameters?: Record<string, Record<string, unknown>>;
  /** The success status: 200 unless given. */
  status?: number;
  /** The error body's schema: "Error" unless given. */
  errorSchema?: string;
  /** Takes an Idempotency-Key (docs/idempotency.md). */
  idempotent?: true;
  response: { schema: string; description: string };
  errors: Record<number, string>;
}

const IDEMPOTENCY_KEY_PARAMETER = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description: 'Makes a retry safe (IETF draft "The Idempotency-Key HTTP Header Field"): the first request ' +
    "with a key runs, a repeat with the same body within IDEMPOTENCY_KEY_TTL_SECONDS (a day by default) gets " +
    "its answer again with Idempotent-Replayed: true and changes nothing; a concurrent repeat waits for the " +
    "first. The same key with a different body is a 422. Keys are per merchant; 1 to 255 printable ASCII " +
    'characters, bare or as a Structured Field string ("...").',
  schema: { type: "string", minLength: 1, maxLength: 257 },
};

const REPLAYED_HEADER = {
  "Idempotent-Replayed": {
    description: "true when this is the stored answer of an earlier request with the same Idempotency-Key.",
    schema: { type: "string", enum: ["true"] },
  },
};

const COMMON_ERRORS: Record<number, string> = {
  404: "Unknown path.",
  405: "Wrong method.",
  413: "Request body over the size limit.",
  500: "Unexpected fault; the body carries a request id that is also in the log.",
  503:
    "Database unreachable, busy, or not answering within the request's deadline; retry after the Retry-After " +
    "header's seconds. The message says when the connection was lost after the request was sent, so it may " +
    "or may not have been applied.",
};

const WEBHOOK_ERRORS: Record<401 | 403, string> = {
  401: "Missing or invalid credential, or a revoked or expired API key.",
  403:
    "Not an owner of the merchant (staff may not manage webhooks), or merchant_id of a merchant the caller " +
    "may not act for.",
};
const WEBHOOK_NOT_FOUND = "No such endpoint of this merchant.";
const WEBHOOK_MERCHANT_422 = "merchant_id not a UUID, or missing with the service key.";
const ENDPOINT_ID = { id: { type: "string", format: "uuid" } };

const OPERATIONS: Record<string, Operation> = {
  "POST /job-interview-register-users": {
    idempotent: true,
    operationId: "register_users_for_interview",
    tag: "Interviews",
    summary: "Register users for an interview",
    description:
      "Registers (or updates) one or more candidate profiles for an interview and returns a one-time " +
      "interview URL for each. Accepts a merchant API key (merchant_id optional: its merchant or a " +
      "sub-merchant), a Supabase user JWT (merchant owner, merchant staff, admin) or the service key " +
      "(merchant_id then required). Each user is processed independently.",
    authenticated: true,
    request: "JobInterviewRegisterUsersRequest",
    response: {
      schema: "JobInterviewRegisterUsersResponse",
      description: "Per-user registration results.",
    },
    errors: {
      401: "Missing, malformed, expired or badly signed credential, a token with no resolvable user, or a " +
        "revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
      422:
        "Validation error: body not a JSON object, a field missing or of the wrong type, merchant_id missing " +
        "with the service key, merchant or interview not found, interview not available, too many users.",
    },
  },
  "POST /interview-token-redeem": {
    idempotent: true,
    operationId: "redeem_interview_token",
    tag: "Interviews",
    summary: "Redeem a one-time interview token",
    description:
      "Called by the interview app when a candidate opens the link. The token is the credential; " +
      "of concurrent redemptions of one token exactly one succeeds.",
    authenticated: false,
    request: "InterviewTokenRedeemRequest",
    response: {
      schema: "InterviewTokenRedeemResponse",
      description: "The registration; the token is spent.",
    },
    errors: {
      401: "Malformed token or bad signature.",
      409: "The interview is no longer available, or the registration is completed.",
      410:
        "Token expired, already used, revoked by a newer link, or its registration cancelled (the message " +
        "says which).",
      422: "Body not a JSON object or interview_token missing.",
    },
  },
  "POST /invite-users": {
    idempotent: true,
    operationId: "invite_users",
    tag: "Invitations",
    summary: "Invite people to the merchant",
    description:
      "Invites candidates (registered for an interview or position exactly as job-interview-register-users " +
      'does with type "invitation"), team members (merchant_owner, merchant, merchant_selection) and ' +
      "coaching-portal users (user, mentor), emailing each. A person who already has an account gets the " +
      "role at once; anyone else gets a one-time accept link (see invite-accept). Accepts a merchant API " +
      "key, a Supabase user JWT (merchant owner, merchant staff, admin) or the service key (merchant_id then " +
      "required). Only owners and admins grant merchant_owner (an API key grants up to merchant); nobody grants a role above their own. Each user is processed " +
      "independently.",
    authenticated: true,
    request: "InviteUsersRequest",
    response: { schema: "InviteUsersResponse", description: "Per-user invitation results." },
    errors: {
      401: "Missing, malformed, expired or badly signed credential, a token with no resolvable user, or a " +
        "revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
      422: "Validation error: body not a JSON object, users missing, empty or too many, an unknown " +
        "mojito_language_code, message_from_recruiter too long, merchant_id missing with the service key or " +
        "not found.",
    },
  },
  "POST /invite-accept": {
    operationId: "accept_invitation",
    tag: "Invitations",
    summary: "Accept an invitation",
    description:
      "Called by the web app once the invited person has signed in: with their own Supabase user JWT, whose " +
      "email must be the invited address, it activates the invitation's role at the merchant, creating " +
      "their account on first use. Each link works once; of concurrent acceptances exactly one succeeds.",
    authenticated: true,
    request: "InviteAcceptRequest",
    response: { schema: "InviteAcceptResponse", description: "The role now active at the merchant." },
    errors: {
      401: "Missing, malformed, expired or badly signed user JWT.",
      403: "Not a user JWT, no email in it, or an email other than the invited one.",
      409: "Another account already uses the invited email address.",
      410: "Invitation expired, already accepted, its link replaced by a newer one, or revoked " +
        "(the message says which).",
      422: "Body not a JSON object, invitation_token missing, or not an invitation token of this deployment.",
    },
  },
  "POST /interview-complete": {
    operationId: "complete_interview",
    tag: "Interviews",
    summary: "Report a completed interview",
    description:
      "Called by the interview app's backend with the service key when a candidate finishes. Marks the " +
      "registration completed and, when the candidate was invited by email, queues the completion email " +
      "(once: reporting again changes nothing).",
    authenticated: true,
    request: "InterviewCompleteRequest",
    response: { schema: "InterviewCompleteResponse", description: "The registration, now completed." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not the service key.",
      404: "No such registration.",
      409: "The interview was never started (its link was not redeemed), or the registration is cancelled.",
      422: "Body not a JSON object or profile_interview_id missing or not a UUID.",
    },
  },
  "POST /merchant-branding": {
    operationId: "set_merchant_branding",
    tag: "Email",
    summary: "Brand the merchant's emails",
    description:
      "Sets the logo, brand colour and, per language, the invitation's subject and opening paragraph of the " +
      "merchant's emails, and answers with the branding now: fields sent change, fields left out stay, null " +
      "clears (a body with only merchant_id reads it). Accepts the merchant's API key, a Supabase user JWT of " +
      "its owner (or of an owner of a parent merchant, or an admin) or the service key (merchant_id then " +
      "required). " +
      "Merchant texts are plain text, escaped like every value; the link, its expiry and the footer stay ours.",
    authenticated: true,
    request: "MerchantBrandingRequest",
    response: { schema: "MerchantBranding", description: "The merchant's branding after the change." },
    errors: {
      401: "Missing, malformed, expired or badly signed credential, or a token with no resolvable user.",
      403: "Not an owner of the merchant, or merchant_id of a merchant the caller may not act for.",
      422: "Validation error: body not a JSON object, an unknown field or language, a logo_url that is not " +
        "https, a brand_color not #rrggbb, a text empty, too long, with a control character or an unknown " +
        "placeholder, merchant_id missing with the service key or not found.",
    },
  },
  "POST /email-dispatch": {
    operationId: "dispatch_emails",
    tag: "Email",
    summary: "Send due emails from the outbox",
    description:
      "Sends the invitation chain's due messages over SMTP for up to EMAIL_DISPATCH_BUDGET_SECONDS. Called " +
      "by a scheduler (pg_cron + pg_net) with the service key; concurrent calls are safe. No request body.",
    authenticated: true,
    response: { schema: "EmailDispatchResponse", description: "What this invocation did." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not the service key.",
    },
  },
  "POST /webhook-dispatch": {
    operationId: "dispatch_webhooks",
    tag: "Webhooks",
    summary: "Send due webhook deliveries",
    description: "Attempts the due webhook deliveries (signed, Standard Webhooks) for up to " +
      "WEBHOOK_DISPATCH_BUDGET_SECONDS. Called by a scheduler (pg_cron + pg_net) with the service key; " +
      "concurrent calls are safe. No request body.",
    authenticated: true,
    response: { schema: "WebhookDispatchResponse", description: "What this invocation did." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not the service key.",
    },
  },
  "POST /api-keys": {
    operationId: "create_api_key",
    tag: "API keys",
    summary: "Create an API key",
    description:
      "Creates a long-lived API key of a merchant. The secret is in this response only: the database keeps " +
      "its SHA-256 digest. For the merchant's owner (or an owner of a parent merchant), admins and the service " +
      "key (merchant_id then required); an API key may not manage keys.",
    authenticated: true,
    status: 201,
    request: "CreateApiKeyRequest",
    response: { schema: "CreatedApiKey", description: "The new key, with its secret." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not an owner of this merchant, or an API key.",
      422:
        "Validation error: name missing or too long, expires_at not a date-time in the future, merchant_id " +
        "missing with the service key or not found.",
    },
  },
  "GET /api-keys": {
    operationId: "list_api_keys",
    tag: "API keys",
    summary: "List API keys",
    description:
      "The merchant's keys, oldest first, revoked and expired ones included; never a secret. For the " +
      "same callers as creating one.",
    authenticated: true,
    query: ListApiKeysQuery,
    response: { schema: "ApiKeyList", description: "The merchant's keys." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not an owner of this merchant, or an API key.",
      422: "merchant_id not a UUID, missing with the service key, or not found.",
    },
  },
  "DELETE /api-keys/:id": {
    operationId: "revoke_api_key",
    tag: "API keys",
    summary: "Revoke an API key",
    description: "Revokes a key: every request that starts after this one answers is refused, on every " +
      "function instance. Revoking a revoked key changes nothing.",
    authenticated: true,
    pathParameters: { id: { type: "string", format: "uuid" } },
    response: { schema: "ApiKey", description: "The key, revoked." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not an owner of the key's merchant, or an API key.",
      404: "No such key.",
    },
  },
  "POST /interview/invite": {
    idempotent: true,
    operationId: "micro1_invite_candidates",
    tag: "micro1",
    summary: "Invite candidates to an interview (micro1)",
    description:
      "micro1's POST /interview/invite, request and response as micro1 defines them, so a micro1 client only " +
      "swaps its base URL and key (x-api-key). Registers the candidates as job-interview-register-users does " +
      "(credits, one-time link, email chain unless disable_email_notification), or re-invites one by " +
      "candidate_id. All or nothing: if any candidate fails, nobody is invited and the answer is a 400 naming " +
      "each failure.",
    authenticated: true,
    request: "Micro1InviteRequest",
    errorSchema: "Micro1Error",
    response: { schema: "Micro1InviteResponse", description: "Every candidate was invited." },
    errors: {
      400:
        "Bad request: a field missing or invalid, a candidate with an invalid or repeated email, not enough " +
        "credits for every candidate, interview or candidate not found or not available. Nothing was written.",
      401: "Missing or invalid credential, or a revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
    },
  },
  "GET /health": {
    operationId: "check_health",
    tag: "Operations",
    summary: "Check the function and its database",
    description: "Whether the function answers and its database answers a trivial query within " +
      `${
        HEALTH_DATABASE_TIMEOUT_MS / 1000
      } s. No credential; the answer holds the two verdicts and nothing ` +
      "else (no versions, hosts or error text). For load balancers and uptime monitors.",
    authenticated: false,
    response: { schema: "HealthResponse", description: "Both answer." },
    errors: { 503: "The database did not answer in time, or is unreachable; the body says so, and no more." },
  },
  "GET /email-failures": {
    operationId: "list_failed_emails",
    tag: "Email",
    summary: "List failed email messages",
    description:
      "The outbox's failed messages (attempts exhausted, recipient refused, or not renderable), most recently " +
      "failed first, each with the reason its last attempt failed. Paginated: pass the answer's next_cursor as " +
      "cursor for the next page. Service key only.",
    authenticated: true,
    query: FailedEmailsQuery,
    response: { schema: "FailedEmailsResponse", description: "One page of failed messages." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not the service key.",
      422: "A query parameter out of range or malformed, or a cursor this endpoint did not return.",
    },
  },
  "POST /email-failures/retry": {
    operationId: "retry_failed_emails",
    tag: "Email",
    summary: "Retry failed email messages",
    description:
      "Queues failed messages again, their attempts counted from zero: the one `id` names, or every message " +
      "that failed at or after `failed_since` (of one merchant with `merchant_id`). They go out with the next " +
      "dispatch. Service key only.",
    authenticated: true,
    request: "RetryEmailsRequest",
    response: { schema: "RetryEmailsResponse", description: "The messages queued again." },
    errors: {
      401: "Missing or invalid credential.",
      403: "Not the service key.",
      404: "No message with that id.",
      409: "The message has not failed (the message gives its status).",
      422: "Body not a JSON object, neither or both of id and failed_since, or a malformed value.",
    },
  },
  "POST /job-interview-token": {
    operationId: "generate_interview_url",
    idempotent: true,
    tag: "Interviews",
    summary: "Generate a signed interview URL",
    description:
      "JobMojito's generate_interview_url. For type interview-for-profile: a new one-time interview " +
      "URL for an existing candidate profile and interview; the candidate's open registration for it is " +
      "reused (no credit) and its previous link stops working, or, with none open, a new registration " +
      'spends a credit. The menu is hidden unless hide_menu is the string "false". Other types are a 422 ' +
      "until the results side exists. For the callers job-interview-register-users takes.",
    authenticated: true,
    request: "JobInterviewTokenRequest",
    response: { schema: "JobInterviewTokenResponse", description: "The URL, as a bare JSON string." },
    errors: {
      401: "Missing or invalid credential, or a revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
      422:
        "Validation error: a type other than interview-for-profile, interview_id or interview_profile_id " +
        "missing, the candidate or interview not the merchant's, the interview not available, not enough " +
        "interview credits.",
    },
  },
  "GET /registrations": {
    operationId: "list_registrations",
    tag: "Registrations",
    summary: "List registrations",
    description:
      "The merchant's and its sub-merchants' registrations, oldest first (created_at, then id), filtered and " +
      "paginated (limit 1-1000, default 50; offset). Each shows the candidate, interview and position, its " +
      "status (registered, started, completed, cancelled, or expired: a link past its expiry, never redeemed), " +
      "the time of each step, the link's expiry and the state of its emails. For the callers " +
      "job-interview-register-users takes.",
    authenticated: true,
    query: ListRegistrationsQuery,
    response: {
      schema: "RegistrationList",
      description: "A page of registrations and the total that match.",
    },
    errors: {
      401: "Missing or invalid credential, or a revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
      422: "A query parameter invalid (the error names it), or merchant_id missing with the service key.",
    },
  },
  "GET /registrations/:id": {
    operationId: "get_registration",
    tag: "Registrations",
    summary: "Get a registration",
    description: "One registration of the merchant or of a sub-merchant of it, as the list shows it.",
    authenticated: true,
    query: GetRegistrationQuery,
    pathParameters: { id: { type: "string", format: "uuid" } },
    response: { schema: "Registration", description: "The registration." },
    errors: {
      401: "Missing or invalid credential, or a revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
      404: "No such registration of this merchant or its sub-merchants.",
      422: "merchant_id not a UUID, or missing with the service key.",
    },
  },
  "POST /registrations/:id/cancel": {
    operationId: "cancel_registration",
    idempotent: true,
    tag: "Registrations",
    summary: "Cancel a registration",
    description: "Cancels a registration: its link stops working (redeeming it is a 410 that says it was " +
      "cancelled), its pending invitation and reminders are not sent, and the credit it spent is returned " +
      "when its link was never redeemed. Cancelling a cancelled registration changes nothing. No body.",
    authenticated: true,
    query: GetRegistrationQuery,
    pathParameters: { id: { type: "string", format: "uuid" } },
    response: { schema: "CancelledRegistration", description: "The registration, cancelled." },
    errors: {
      401: "Missing or invalid credential, or a revoked or expired API key.",
      403: "Role not permitted, or merchant_id of a merchant the caller may not act for.",
      404: "No such registration of this merchant or its sub-merchants.",
      409: "The registration is completed.",
      422: "merchant_id not a UUID, or missing with the service key.",
    },
  },
  "POST /webhook-endpoints": {
    operationId: "create_webhook_endpoint",
    idempotent: true,
    tag: "Webhooks",
    summary: "Create a webhook endpoint",
    description:
      "Registers a URL to receive the merchant's events of the chosen types, signed by the Standard " +
      "Webhooks scheme. The signing secret is in this response only (and in its Idempotency-Key replays). " +
      "The URL must be https and every address its host resolves to public (local mode also takes http and " +
      `loopback). A merchant has at most ${MAX_WEBHOOK_ENDPOINTS} endpoints. For the merchant's owner (or an ` +
      "owner of a parent merchant), admins, the service key (merchant_id then required) and the merchant's " +
      "API keys.",
    authenticated: true,
    status: 201,
    request: "CreateWebhookEndpointRequest",
    response: { schema: "WebhookEndpointWithSecret", description: "The new endpoint, with its secret." },
    errors: {
      401: WEBHOOK_ERRORS[401],
      403: WEBHOOK_ERRORS[403],
      409: `The merchant has ${MAX_WEBHOOK_ENDPOINTS} endpoints already.`,
      422: "Validation error (the error names the field): url missing, too long, not https or not public, " +
        "event_types empty or with an unknown type, description too long, an unknown field, merchant_id " +
        "missing with the service key or not found.",
    },
  },
  "GET /webhook-endpoints": {
    operationId: "list_webhook_endpoints",
    tag: "Webhooks",
    summary: "List webhook endpoints",
    description: "The merchant's endpoints, oldest first, disabled ones included; never a secret.",
    authenticated: true,
    query: WebhookEndpointQuery,
    response: { schema: "WebhookEndpointList", description: "The merchant's endpoints." },
    errors: { ...WEBHOOK_ERRORS, 422: "merchant_id not a UUID, missing with the service key, or not found." },
  },
  "GET /webhook-endpoints/:id": {
    operationId: "get_webhook_endpoint",
    tag: "Webhooks",
    summary: "Get a webhook endpoint",
    description: "One endpoint of the merchant; never its secret.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    response: { schema: "WebhookEndpoint", description: "The endpoint." },
    errors: { ...WEBHOOK_ERRORS, 404: WEBHOOK_NOT_FOUND, 422: WEBHOOK_MERCHANT_422 },
  },
  "PATCH /webhook-endpoints/:id": {
    operationId: "update_webhook_endpoint",
    tag: "Webhooks",
    summary: "Change a webhook endpoint",
    description: "Changes its url, event_types or description: the fields sent change, the others stay " +
      "(a null description clears it). A new url is checked as on creation. Deliveries already queued go to " +
      "the new url.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    request: "UpdateWebhookEndpointRequest",
    response: { schema: "WebhookEndpoint", description: "The endpoint, changed." },
    errors: {
      ...WEBHOOK_ERRORS,
      404: WEBHOOK_NOT_FOUND,
      422: "Validation error (the error names the field): no field, a url or event_types refused as on " +
        "creation, description too long, an unknown field, merchant_id not a UUID.",
    },
  },
  "DELETE /webhook-endpoints/:id": {
    operationId: "delete_webhook_endpoint",
    tag: "Webhooks",
    summary: "Delete a webhook endpoint",
    description: "Deletes the endpoint and its deliveries; what was still queued for it is never sent.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    response: { schema: "WebhookEndpoint", description: "The endpoint as it was." },
    errors: { ...WEBHOOK_ERRORS, 404: WEBHOOK_NOT_FOUND, 422: WEBHOOK_MERCHANT_422 },
  },
  "POST /webhook-endpoints/:id/disable": {
    operationId: "disable_webhook_endpoint",
    tag: "Webhooks",
    summary: "Disable a webhook endpoint",
    description:
      "Stops sending to it (disabled_reason says it was through the API): no new event is queued " +
      "for it, and a delivery that comes due meanwhile is marked failed unsent (replay it after enabling). " +
      "Disabling a disabled endpoint changes nothing. No body.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    response: { schema: "WebhookEndpoint", description: "The endpoint, disabled." },
    errors: { ...WEBHOOK_ERRORS, 404: WEBHOOK_NOT_FOUND, 422: WEBHOOK_MERCHANT_422 },
  },
  "POST /webhook-endpoints/:id/enable": {
    operationId: "enable_webhook_endpoint",
    tag: "Webhooks",
    summary: "Enable a webhook endpoint",
    description: "Sends to it again, also after it was disabled for failing: disabled_reason and " +
      "failing_since are cleared. Enabling an enabled endpoint changes nothing. No body.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    response: { schema: "WebhookEndpoint", description: "The endpoint, enabled." },
    errors: { ...WEBHOOK_ERRORS, 404: WEBHOOK_NOT_FOUND, 422: WEBHOOK_MERCHANT_422 },
  },
  "POST /webhook-endpoints/:id/rotate-secret": {
    operationId: "rotate_webhook_endpoint_secret",
    idempotent: true,
    tag: "Webhooks",
    summary: "Rotate a webhook endpoint's signing secret",
    description:
      "Gives the endpoint a new signing secret, in this response only. The old one keeps signing " +
      "beside it (each delivery carries both signatures) for grace_period_seconds, 24 hours by default, so " +
      "receivers can switch without refusing a request. The body may be left out.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    request: "RotateWebhookSecretRequest",
    requestOptional: true,
    response: { schema: "WebhookEndpointWithSecret", description: "The endpoint, with its new secret." },
    errors: {
      ...WEBHOOK_ERRORS,
      404: WEBHOOK_NOT_FOUND,
      422:
        "grace_period_seconds not an integer from 0 to 604800, an unknown field, or merchant_id not a UUID.",
    },
  },
  "POST /webhook-endpoints/:id/test": {
    operationId: "send_webhook_test_event",
    idempotent: true,
    tag: "Webhooks",
    summary: "Send a test event",
    description:
      "Queues a webhook.test event for this endpoint alone, whatever types it subscribes to; it is " +
      "signed and delivered like any other event (see its deliveries). No body.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    status: 202,
    response: { schema: "WebhookTestEvent", description: "The event and its delivery, queued." },
    errors: {
      ...WEBHOOK_ERRORS,
      404: WEBHOOK_NOT_FOUND,
      409: "The endpoint is disabled.",
      422: WEBHOOK_MERCHANT_422,
    },
  },
  "GET /webhook-endpoints/:id/deliveries": {
    operationId: "list_webhook_deliveries",
    tag: "Webhooks",
    summary: "List an endpoint's deliveries",
    description: "The endpoint's deliveries, newest first, each with its event's id and type, its status, " +
      "attempts, next attempt, and the last attempt's response status, the start of its body and error. " +
      "Paginated: pass the answer's next_cursor as cursor for the next page.",
    authenticated: true,
    query: ListWebhookDeliveriesQuery,
    pathParameters: ENDPOINT_ID,
    response: { schema: "WebhookDeliveryList", description: "One page of deliveries." },
    errors: {
      ...WEBHOOK_ERRORS,
      404: WEBHOOK_NOT_FOUND,
      422: "A query parameter invalid (the error names it), or a cursor this endpoint did not return.",
    },
  },
  "POST /webhook-endpoints/:id/replay": {
    operationId: "replay_webhook_deliveries",
    idempotent: true,
    tag: "Webhooks",
    summary: "Send deliveries again",
    description: `Sends again the one delivery delivery_id or event_id names (delivered or failed), or the ` +
      `deliveries to this endpoint that failed at or after failed_since, up to ${MAX_REPLAYED_PER_REQUEST} a ` +
      "call (more says " +
      "whether any remain). Each is due at once with a fresh " +
      "budget of attempts, and keeps its event, so its webhook-id: receivers that deduplicate see a repeat.",
    authenticated: true,
    query: WebhookEndpointQuery,
    pathParameters: ENDPOINT_ID,
    request: "ReplayWebhookDeliveriesRequest",
    response: { schema: "ReplayedWebhookDeliveries", description: "The deliveries queued again." },
    errors: {
      ...WEBHOOK_ERRORS,
      404: "No such endpoint of this merchant, or no such delivery of it.",
      409: "The endpoint is disabled, or the delivery is being sent right now.",
      422:
        "Not exactly one of delivery_id, event_id and failed_since, a malformed value, an unknown field, or " +
        "merchant_id not a UUID.",
    },
  },
};

/** A route as Hono lists it: `GET /health`, `POST /email-failures/retry`. */
export interface Route {
  method: string;
  path: string;
}

const TAGS = [
  {
    name: "Interviews",
    description: "Registering candidates for interviews, and the interview app's callbacks.",
  },
  { name: "Invitations", description: "Inviting candidates, team members and coaching users to a merchant." },
  { name: "Email", description: "The invitation email chain's outbox: sending, and failed messages." },
  { name: "API keys", description: "A merchant's long-lived API keys: create, list, revoke." },
  { name: "micro1", description: "micro1's interview invitation API, served as micro1 defines it." },
  { name: "Registrations", description: "What became of registered candidates: status, cancellation." },
  { name: "Operations", description: "Health checks." },
  {
    name: "Webhooks",
    description: "Signed webhook events to a merchant's endpoints: managing endpoints and their secrets, " +
      "listing and replaying deliveries, and delivery.",
  },
];

/** Query parameters from a zod object: each property's JSON Schema, required unless optional or defaulted. */
function queryParameters(query: z.ZodObject): Record<string, unknown>[] {
  const schema = jsonSchema(query) as {
    properties: Record<string, Record<string, unknown>>;
    required?: string[];
  };
  return Object.entries(schema.properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: "query",
      required: schema.required?.includes(name) ?? false,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/**
 * The OpenAPI 3.1 document of every route in `routes` (the API functions' own, as Hono lists them), each
 * described by its OPERATIONS entry, with schemas generated from the zod schemas the handlers validate
 * with. A route without an entry, or an entry without its route, is an error: the two cannot drift.
 */
export function buildOpenApiDocument(config: Config, routes: Route[]): Record<string, unknown> {
  const keys = routes.map((route) => `${route.method} ${route.path}`);
  const undocumented = keys.filter((key) => !(key in OPERATIONS));
  const unrouted = Object.keys(OPERATIONS).filter((key) => !keys.includes(key));
  if (undocumented.length > 0 || unrouted.length > 0) {
    throw new Error(
      `OpenAPI operations out of step with the routes: undocumented ${JSON.stringify(undocumented)}, ` +
        `without a route ${JSON.stringify(unrouted)}`,
    );
  }
  const schemas: Record<string, Record<string, unknown>> = {
    JobInterviewRegisterUsersRequest: jsonSchema(registerUsersRequestSchema(config.maxUsersPerRequest)),
    JobInterviewRegisterUsersResponse: jsonSchema(RegisterUsersResponse),
    InterviewTokenRedeemRequest: jsonSchema(RedeemRequest),
    InterviewTokenRedeemResponse: jsonSchema(RedeemResponse),
    InterviewCompleteRequest: jsonSchema(CompleteInterviewRequest),
    InterviewCompleteResponse: jsonSchema(CompleteInterviewResponse),
    EmailDispatchResponse: jsonSchema(EmailDispatchResponse),
    WebhookDispatchResponse: jsonSchema(WebhookDispatchResponse),
    InviteUsersRequest: jsonSchema(inviteUsersRequestSchema(config.maxUsersPerRequest)),
    InviteUsersResponse: jsonSchema(InviteUsersResponse),
    InviteAcceptRequest: jsonSchema(InviteAcceptRequest),
    InviteAcceptResponse: jsonSchema(InviteAcceptResponse),
    CreateApiKeyRequest: jsonSchema(CreateApiKeyRequest),
    CreatedApiKey: jsonSchema(CreatedApiKey),
    ApiKey: jsonSchema(ApiKey),
    ApiKeyList: jsonSchema(ApiKeyList),
    Micro1InviteRequest: jsonSchema(micro1InviteRequestSchema(config.maxUsersPerRequest)),
    Micro1InviteResponse: jsonSchema(Micro1InviteResponse),
    Micro1Error: jsonSchema(Micro1Error),
    HealthResponse: jsonSchema(HealthResponse),
    FailedEmailsResponse: jsonSchema(FailedEmailsResponse),
    RetryEmailsRequest: jsonSchema(RetryEmailsRequest),
    RetryEmailsResponse: jsonSchema(RetryEmailsResponse),
    MerchantBrandingRequest: jsonSchema(MerchantBrandingRequest),
    MerchantBranding: jsonSchema(MerchantBranding),
    JobInterviewTokenRequest: jsonSchema(JobInterviewTokenRequest),
    JobInterviewTokenResponse: jsonSchema(JobInterviewTokenResponse),
    Registration: jsonSchema(Registration),
    CancelledRegistration: jsonSchema(CancelledRegistration),
    RegistrationList: jsonSchema(RegistrationList),
    CreateWebhookEndpointRequest: jsonSchema(CreateWebhookEndpointRequest),
    UpdateWebhookEndpointRequest: jsonSchema(UpdateWebhookEndpointRequest),
    RotateWebhookSecretRequest: jsonSchema(RotateWebhookSecretRequest),
    ReplayWebhookDeliveriesRequest: jsonSchema(ReplayWebhookDeliveriesRequest),
    WebhookEndpoint: jsonSchema(WebhookEndpoint),
    WebhookEndpointWithSecret: jsonSchema(WebhookEndpointWithSecret),
    WebhookEndpointList: jsonSchema(WebhookEndpointList),
    WebhookTestEvent: jsonSchema(WebhookTestEvent),
    WebhookDeliveryList: jsonSchema(WebhookDeliveryList),
    ReplayedWebhookDeliveries: jsonSchema(ReplayedWebhookDeliveries),
    Error: jsonSchema(ErrorBody),
  };

  // Any one of them: the first that carries a credential is read (docs/api-keys.md).
  const credentials = [{ bearerAuth: [] }, { apiKey: [] }, { supabaseApiKey: [] }];
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation = OPERATIONS[`${route.method} ${route.path}`];
    const errors = { ...COMMON_ERRORS, ...operation.errors };
    // Hono's `/api-keys/:id` is OpenAPI's `/api-keys/{id}`.
    const names = [...route.path.matchAll(/:(\w+)/g)].map((match) => match[1]);
    const parameters = [
      ...names.map((name) => ({
        name,
        in: "path",
        required: true,
        schema: operation.pathParameters?.[name] ?? { type: "string" },
      })),
      ...(operation.query ? queryParameters(operation.query) : []),
      ...(operation.idempotent ? [IDEMPOTENCY_KEY_PARAMETER] : []),
    ];
    (paths[route.path.replace(/:(\w+)/g, "{$1}")] ??= {})[route.method.toLowerCase()] = {
      operationId: operation.operationId,
      tags: [operation.tag],
      summary: operation.summary,
      description: operation.description,
      security: operation.authenticated ? credentials : [],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(operation.request
        ? {
          requestBody: {
            required: !operation.requestOptional,
            content: { "application/json": { schema: ref(operation.request) } },
          },
        }
        : {}),
      responses: {
        [operation.status ?? 200]: {
          description: operation.response.description,
          ...(operation.idempotent ? { headers: REPLAYED_HEADER } : {}),
          content: { "application/json": { schema: ref(operation.response.schema) } },
        },
        ...Object.fromEntries(
          Object.entries(errors).map((
            [status, text],
          ) => [status, errorResponse(text, operation.errorSchema)]),
        ),
      },
    };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "JobMojito-compatible registration API",
      version: "1.0.0",
      description:
        "Candidate registration served by Supabase Edge Functions. Authenticate with a merchant API key, a " +
        "Supabase JWT access token or the service key, in Authorization: Bearer, x-api-key or apikey.",
      license: LICENSE,
    },
    servers: [{ url: `${config.supabaseUrl}/functions/v1` }],
    tags: TAGS,
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description:
            "A merchant API key (jmk_...), a Supabase user access token (JWT), the service_role JWT, or an " +
            "sb_secret_ key.",
        },
        apiKey: {
          type: "apiKey",
          in: "header",
          name: "x-api-key",
          description: "A merchant API key (micro1's header), or any credential Authorization takes.",
        },
        supabaseApiKey: {
          type: "apiKey",
          in: "header",
          name: "apikey",
          description:
            "Where supabase-js sends its key: an sb_secret_ key or a merchant API key. A publishable " +
            "key here names the project only: the caller is then the user JWT in Authorization.",
        },
      },
    },
  };
}
