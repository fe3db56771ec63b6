/**
 * The request and response shapes of every endpoint, defined once: handlers
 * validate with them and `openapi.ts` describes the API from them.
 */
import { z } from "zod";

export const uuid = (description: string) =>
  z.guid({ error: "Must be a UUID" }).meta({ description, format: "uuid" });

/** `true`, or the string "true" in any case; anything else (false, null, other strings) is false. */
export const flag = (description: string) =>
  z.union([z.boolean(), z.string(), z.null()], {
    error: "Must be a boolean, a string or null",
  })
    .optional()
    .transform((value) =>
      value === true ||
      (typeof value === "string" && value.toLowerCase() === "true")
    )
    .meta({ description });

/**
 * A request's own link expiry: an ISO 8601 date-time at least a minute ahead and at most
 * INTERVIEW_TOKEN_MAX_TTL_SECONDS ahead (checked when the links are minted: `linkExpiry`).
 */
export const linkExpiresAt = () =>
  z.iso.datetime({ offset: true, error: "Must be an ISO 8601 date-time with a time zone" }).nullish().meta({
    description: "When the interview links of this request stop working: at least a minute and at most " +
      "INTERVIEW_TOKEN_MAX_TTL_SECONDS (90 days by default) ahead. Signed into the token (exp) and written in " +
      "the invitation email. Default: INTERVIEW_TOKEN_TTL_SECONDS (30 days) from now.",
    example: "2026-12-31T23:59:59Z",
  });

export const ErrorBody = z.object({
  error: z.string().meta({ example: "Field is required." }),
  name: z.string().optional().meta({
    description: "The request field at fault, when one is.",
    example: "interview_id",
  }),
  request_id: z.string().optional().meta({
    description: "On 500s: the id under which the fault was logged.",
  }),
});

/**
 * Whether PostgreSQL can store a string. JSON carries NUL (\u0000) and
 * unpaired surrogates, but PostgreSQL's text and jsonb refuse NUL and jsonb
 * an unpaired surrogate: stored, they would fail the whole statement.
 */
export function storable(value: string): boolean {
  return !value.includes("\u0000") && value.isWellFormed();
}

/** What `storable` refuses, for error messages. */
export const UNSTORABLE = "a NUL character or an unpaired surrogate";

/**
 * One candidate as sent. Its fields are checked per row, so a bad one fails
 * that row ("Error: ..."), not the request; unknown keys are echoed back.
 */
export const RegisterUser = z.looseObject({
  name: z.string({ error: "Invalid name" }).max(
    300,
    "Invalid name: at most 300 characters",
  ).refine(storable, `Invalid name: contains ${UNSTORABLE}`).nullish()
    .meta({
      description: "Display name of the candidate.",
      example: "Peter Parker",
    }),
  email: z.string({ error: "Invalid email" }).nullish().meta({
    description: "Email used to identify and invite the candidate. Validated per item, not request-level.",
    example: "jozo@jozo.sk",
  }),
  external_id: z.string({ error: "Invalid external_id" }).max(
    255,
    "Invalid external_id: at most 255 characters",
  ).refine(storable, `Invalid external_id: contains ${UNSTORABLE}`)
    .nullish().meta({
      description: "Optional caller-supplied id, stored on the candidate profile.",
      example: "abcd",
    }),
});

const AsciiEmail = z.email();
/** A DNS name in ASCII (punycode) form: labels of letters, digits and inner hyphens; a TLD of letters or IDN. */
const HOSTNAME = /^(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * Whether an address is one the email chain can deliver (docs/decisions.md, "Email addresses"): zod's
 * email check, widened as RFC 6531 widens RFC 5321 for SMTPUTF8. The local part may hold any non-ASCII
 * character where ASCII allows a letter (nodemailer sends it with SMTPUTF8); the domain may be an
 * internationalised name, checked in its punycode form (what DNS holds and what nodemailer sends).
 */
export function isDeliverableEmail(address: string): boolean {
  if (address.length > 254) return false;
  const at = address.lastIndexOf("@");
  const domain = address.slice(at + 1);
  // Only a name: the URL parser below would also take a port, a path or userinfo.
  if (at < 1 || !/^[^\s:/?#[\]@\\%]+$/u.test(domain)) return false;
  let asciiDomain: string;
  try {
    asciiDomain = new URL(`http://${domain}`).hostname;
  } catch {
    return false;
  }
  const local = address.slice(0, at).replace(/\P{ASCII}/gu, "a");
  return HOSTNAME.test(asciiDomain) && AsciiEmail.safeParse(`${local}@example.com`).success;
}

export type ValidUser = {
  email: string;
  name: string | null;
  external_id: string | null;
};

/** A row's verdict: the values to register, or the row's error message. */
export function validateRegisterUser(
  row: unknown,
): { user: ValidUser } | { error: string } {
  const parsed = RegisterUser.safeParse(row);
  if (!parsed.success) return { error: parsed.error.issues[0].message };
  const email = parsed.data.email?.trim();
  if (!email) return { error: "Email is required" };
  if (!isDeliverableEmail(email)) return { error: "Invalid email" };
  return {
    user: {
      email,
      name: parsed.data.name ?? null,
      external_id: parsed.data.external_id ?? null,
    },
  };
}

/** JobMojito's interface languages, as the spec lists them (`br` is Brazilian Portuguese). */
export const MOJITO_LANGUAGE_CODES = [
  "ar",
  "bg",
  "zh",
  "hr",
  "cs",
  "da",
  "nl",
  "en",
  "fil",
  "fi",
  "fr",
  "de",
  "el",
  "hi",
  "hu",
  "id",
  "it",
  "ja",
  "ko",
  "ms",
  "no",
  "pl",
  "pt",
  "br",
  "ro",
  "ru",
  "sk",
  "es",
  "sv",
  "ta",
  "th",
  "tr",
  "uk",
  "vi",
] as const;
export type MojitoLanguage = (typeof MOJITO_LANGUAGE_CODES)[number];

/** The optional `mojito_language_code` of a request: the language of the emails it queues. */
export const mojitoLanguageCode = () =>
  z.enum(MOJITO_LANGUAGE_CODES, {
    error: `Must be one of: ${MOJITO_LANGUAGE_CODES.join(", ")}`,
  }).nullish().meta({
    description:
      'Language of the emails (one of JobMojito\'s 34 codes; "br" is Brazilian Portuguese). Default "en".',
  });

/**
 * A request's list of people: 1 to maxUsers objects. Requests are described
 * with the item schema and validated with `z.looseObject({})`, because each
 * item's fields are checked per row.
 */
export function userList<Item extends z.ZodType>(item: Item, maxUsers: number) {
  return z.array(item, { error: "Must be an array of objects" })
    .min(1, "At least one user is required")
    .max(maxUsers, `At most ${maxUsers} users per request`);
}

export function registerUsersRequestSchema(maxUsers: number) {
  return z.object({
    users: userList(RegisterUser, maxUsers)
      .meta({
        description: "Candidates to register for the interview. Each gets a one-time interview URL.",
        example: [
          { name: "Peter Parker", email: "jozo@jozo.sk", external_id: "abcd" },
          { name: "mr beast", email: "hi@jozefbalaz.com" },
        ],
      }),
    interview_id: uuid(
      "Interview definition (interview_def_set) or position (position_def_set) id to register users for.",
    )
      .meta({ example: "04e09fa5-3fb8-4236-b37d-fca2bcd1cb66" }),
    merchant_id: uuid(
      "Merchant id. Required with the service key; with a user token honoured for the user's own merchant, " +
        "a sub-merchant of it, or by platform admins.",
    ).nullish(),
    type: z.enum(["url", "invitation"], {
      error: 'Must be "url" or "invitation"',
    }).optional().meta({
      description: '"url" (default) returns links only; "invitation" also starts the email invitation chain.',
    }),
    send_email: z.boolean({ error: "Must be a boolean or null" }).nullish()
      .meta({
        description: 'true means the same as type "invitation".',
      }),
    hide_menu: flag(
      'When true (or the string "true"), the interview UI hides its menu (view_hm).',
    ),
    hide_iframe: flag(
      'When true (or the string "true"), the interview UI hides its iframe chrome (view_hi).',
    ),
    is_test: flag(
      'When true (or the string "true"), mints a test token that can take a draft interview, spends no credit ' +
        "and flags the result as a test.",
    ),
    mojito_language_code: mojitoLanguageCode(),
    link_expires_at: linkExpiresAt(),
    dry_run: flag(
      'When true (or the string "true"), runs the request for real and rolls it back: the answer is exactly ' +
        "the real call's (results, credits, duplicates, reused registrations, errors) but nothing is written, no " +
        "email is sent, no credit spent, and no link or new id is returned.",
    ),
  });
}

/** The request envelope as validated: rows only need to be objects here; their fields are checked per row. */
export function registerUsersEnvelopeSchema(maxUsers: number) {
  const request = registerUsersRequestSchema(maxUsers);
  return request.extend({
    users: userList(z.looseObject({}), maxUsers),
  });
}

/** A key of a row, echoed as it was sent: a row refused for an invalid field carries that field as sent. */
const echoed = (description: string) =>
  z.unknown().optional().meta({ description: `${description}, as sent.` });

export const RegisterUserResult = z.looseObject({
  name: echoed("The candidate's name"),
  email: echoed("The candidate's email"),
  external_id: echoed("The caller's id of the candidate"),
  result: z.string().meta({
    description: '"ok" on success, otherwise an "Error: ..." message for that user.',
    example: "ok",
  }),
  interview_url: z.string().optional().meta({
    description: "One-time interview URL containing the minted interview_token. Present only on success.",
  }),
  profile_interview_id: z.guid().optional().meta({
    description: "The registration. Present only on success.",
  }),
});

export const RegisterUsersResponse = z.array(RegisterUserResult).meta({
  description:
    "The input users in input order, each annotated with its result and, on success, its interview URL.",
});

export const RedeemRequest = z.object({
  interview_token: z.string({ error: "Must be a string" }).min(
    1,
    "Field is required.",
  ).meta({
    description: "The token from the interview URL's interview_token parameter.",
  }),
});

export const RedeemResponse = z.object({
  profile_interview_id: z.guid(),
  profile_id: z.guid(),
  merchant_id: z.guid(),
  interview_id: z.guid(),
  interview_name: z.string(),
  position_id: z.guid().nullable(),
  name: z.string().nullable(),
  email: z.string(),
  external_id: z.string().nullable(),
  is_test: z.boolean(),
  job_application_id: z.string().nullable().meta({
    description: "The integrator's reference given with the registration (micro1's job_application_id).",
  }),
  status: z.literal("started"),
});

export const CompleteInterviewRequest = z.object({
  profile_interview_id: uuid(
    "The registration the candidate completed (from register-users or token redemption).",
  ),
});

export const CompleteInterviewResponse = z.object({
  profile_interview_id: z.guid(),
  status: z.literal("completed"),
  completed_at: z.string().meta({ description: "When the registration was first reported completed." }),
  already_completed: z.boolean().meta({
    description: "True when it had been reported before: nothing changed and nothing was queued.",
  }),
  notification_queued: z.boolean().meta({
    description:
      "Whether the candidate's completion email was queued (only for candidates on the email chain).",
  }),
});

export const EmailDispatchResponse = z.object({
  claimed: z.int().meta({
    description: "Messages claimed; each then sent, retried, failed, cancelled or released.",
  }),
  sent: z.int().meta({ description: "Accepted by the SMTP server." }),
  retried: z.int().meta({ description: "Failed this time; due again after an exponential backoff." }),
  failed: z.int().meta({
    description: "Failed for good: attempts exhausted, recipient refused, or not renderable.",
  }),
  cancelled: z.int().meta({
    description:
      "Not sent: the registration closed, the interview was already started (reminders), or the link " +
      "they carry was used, revoked or expired.",
  }),
  released: z.int().meta({ description: "Handed back unsent because the time budget ran out." }),
});

export const WebhookDispatchResponse = z.object({
  claimed: z.int().meta({
    description: "Deliveries claimed; each then sent, retried, failed, cancelled or released.",
  }),
  sent: z.int().meta({ description: "Answered with a 2xx by the receiver: delivered." }),
  retried: z.int().meta({ description: "Failed this time; due again after an exponential backoff." }),
  failed: z.int().meta({ description: "Failed for good: attempts exhausted." }),
  cancelled: z.int().meta({ description: "Not sent: the endpoint was disabled since the event." }),
  released: z.int().meta({ description: "Handed back unsent because the time budget ran out." }),
});

/** The most failed messages one page of GET /email-failures lists. */
export const MAX_FAILED_EMAILS_PAGE = 500;

const timestamp = (description: string) =>
  z.iso.datetime({ offset: true, error: "Must be an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z" }).meta({
    description,
  });

export const FailedEmailsQuery = z.object({
  limit: z.coerce.number({ error: `Must be an integer from 1 to ${MAX_FAILED_EMAILS_PAGE}` })
    .int({ error: `Must be an integer from 1 to ${MAX_FAILED_EMAILS_PAGE}` })
    .min(1, { error: `Must be an integer from 1 to ${MAX_FAILED_EMAILS_PAGE}` })
    .max(MAX_FAILED_EMAILS_PAGE, { error: `Must be an integer from 1 to ${MAX_FAILED_EMAILS_PAGE}` })
    .default(50).meta({ description: "Messages per page." }),
  since: timestamp("Only messages that failed at or after this time.").optional(),
  merchant_id: uuid("Only this merchant's messages.").optional(),
  cursor: z.string().optional().meta({ description: "The previous page's next_cursor." }),
});

export const FailedEmail = z.object({
  id: z.string().meta({
    description: "The outbox id (the email dispatcher logs it as outbox_id).",
    format: "uuid",
  }),
  merchant_id: z.string().meta({ format: "uuid" }),
  kind: z.string().meta({
    description:
      "invitation, reminder, completion, role_invitation, role_granted, webhook_endpoint_disabled.",
  }),
  to_email: z.string(),
  language: z.string(),
  attempts: z.int(),
  reason: z.string().nullable().meta({
    description: "Why the last attempt failed (the SMTP server's reply, or the error).",
  }),
  profile_interview_id: z.string().nullable().meta({ format: "uuid" }),
  invitation_id: z.string().nullable().meta({ format: "uuid" }),
  created_at: z.string().meta({ format: "date-time" }),
  failed_at: z.string().meta({ format: "date-time" }),
});

export const FailedEmailsResponse = z.object({
  messages: z.array(FailedEmail).meta({ description: "Most recently failed first." }),
  next_cursor: z.string().nullable().meta({
    description: "Pass as cursor for the next page; null on the last.",
  }),
});

export const RetryEmailsRequest = z.object({
  id: uuid("The one failed message to retry.").optional(),
  failed_since: timestamp("Retry every message that failed at or after this time.").optional(),
  merchant_id: uuid("With failed_since: only this merchant's messages.").optional(),
}).strict().refine((body) => (body.id === undefined) !== (body.failed_since === undefined), {
  error: "Give either id or failed_since",
});

export const RetryEmailsResponse = z.object({
  retried: z.array(z.string().meta({ format: "uuid" })).meta({
    description: "The messages queued again: each is sent on the next dispatch, attempts counted from zero.",
  }),
});

export const HealthResponse = z.object({
  status: z.enum(["ok", "unavailable"]),
  database: z.enum(["ok", "unavailable"]).meta({
    description: "Whether the database answered a trivial query within the health check's timeout.",
  }),
});

/** JobMojito's generate_interview_url types; only interview-for-profile exists until the results side does. */
export const INTERVIEW_TOKEN_TYPES = [
  "interview-for-profile",
  "results-for-profile",
  "interview-results-for-position",
  "interview-result-candidate",
  "interview-result-talent-seeker",
] as const;

export const JobInterviewTokenRequest = z.object({
  type: z.enum(INTERVIEW_TOKEN_TYPES, { error: `Must be one of ${INTERVIEW_TOKEN_TYPES.join(", ")}` }).meta({
    description:
      'Which kind of signed URL to generate. Only "interview-for-profile" is served (others: 422).',
  }),
  interview_id: uuid("Interview or position id. Required for interview-for-profile.").optional(),
  interview_profile_id: uuid("Candidate profile id. Required for interview-for-profile.").optional(),
  interview_result_id: uuid("Interview result id (the result types, not served yet).").optional(),
  merchant_id: uuid(
    "Merchant id. Required with the service key; with a user token or API key, its merchant or a sub-merchant.",
  ).nullish(),
  link_expires_at: linkExpiresAt(),
  hide_menu: z.union([z.string(), z.boolean(), z.null()], { error: "Must be a string, a boolean or null" })
    .optional()
    .transform((value) =>
      !(value === false || (typeof value === "string" && value.toLowerCase() === "false"))
    )
    .meta({
      description:
        'Pass the string "false" (or false) to show the navigation menu; any other value, or none, ' +
        "hides it (view_hm).",
    }),
});

export const JobInterviewTokenResponse = z.string().meta({
  description: "The new one-time interview URL, as a bare JSON string.",
  example:
    "https://interview.example.com/interview/take/<interview id>/?interview_token=<token>&view_hm=true",
});
