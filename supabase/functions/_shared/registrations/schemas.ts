/** The shapes of the registrations function: the handlers validate with them and `openapi.ts` describes it from them. */
import { z } from "zod";
import { uuid } from "../schemas.ts";

export const REGISTRATION_STATUSES = ["registered", "started", "completed", "cancelled", "expired"] as const;

const merchantId = () =>
  uuid(
    "The merchant to act for: the caller's own by default (an API key's merchant, a user's home merchant); " +
      "required with the service key. Its sub-merchants' registrations are included.",
  ).optional();

const isoDateTime = (description: string) =>
  z.iso.datetime({ offset: true, error: "Must be an ISO 8601 date-time with a time zone" }).optional()
    .meta({ description, example: "2026-11-30T00:00:00Z" });

export const GetRegistrationQuery = z.object({ merchant_id: merchantId() });

export const ListRegistrationsQuery = z.object({
  merchant_id: merchantId(),
  interview_id: uuid("Only registrations for this interview (interview_def_set).").optional(),
  position_id: uuid("Only registrations made through this position (position_def_set).").optional(),
  external_id: z.string().max(255, "At most 255 characters").optional()
    .meta({ description: "Only the candidate with this external_id." }),
  email: z.string().max(254, "At most 254 characters").optional()
    .meta({ description: "Only the candidate with this email (case-insensitive)." }),
  job_application_id: z.string().max(255, "At most 255 characters").optional()
    .meta({ description: "Only registrations given this job_application_id (micro1's invite)." }),
  status: z.enum(REGISTRATION_STATUSES, { error: `Must be one of ${REGISTRATION_STATUSES.join(", ")}` })
    .optional().meta({ description: "Only registrations in this status." }),
  created_after: isoDateTime("Only registrations created at or after this time."),
  created_before: isoDateTime("Only registrations created before this time."),
  limit: z.coerce.number({ error: "Must be an integer from 1 to 1000" }).int(
    "Must be an integer from 1 to 1000",
  )
    .min(1, "Must be an integer from 1 to 1000").max(1000, "Must be an integer from 1 to 1000").default(50)
    .meta({ description: "Page size, 1 to 1000.", default: 50 }),
  offset: z.coerce.number({ error: "Must be a non-negative integer" }).int("Must be a non-negative integer")
    .min(0, "Must be a non-negative integer").max(2_000_000_000, "Must be a non-negative integer").default(0)
    .meta({ description: "How many matching registrations to skip.", default: 0 }),
});

export const RegistrationEmail = z.object({
  id: z.guid(),
  kind: z.string().meta({ description: "invitation, reminder or completion." }),
  state: z.enum(["queued", "sent", "failed", "cancelled"]),
  to: z.string(),
  created_at: z.string(),
  send_after: z.string().meta({ description: "When it is (or was) due." }),
  sent_at: z.string().nullable(),
  attempts: z.int(),
  error: z.string().nullable().meta({ description: "Why it failed or was cancelled." }),
});

export const Registration = z.object({
  id: z.guid().meta({ description: "The registration (profile_interview_id)." }),
  merchant_id: z.guid(),
  profile_id: z.guid().meta({ description: "The candidate profile." }),
  candidate: z.object({ name: z.string().nullable(), email: z.string(), external_id: z.string().nullable() }),
  interview_id: z.guid(),
  interview_name: z.string(),
  position_id: z.guid().nullable(),
  job_application_id: z.string().nullable(),
  status: z.enum(REGISTRATION_STATUSES).meta({
    description:
      "registered, started (link redeemed), completed, cancelled, or expired (registered, its link " +
      "past its expiry and never redeemed).",
  }),
  is_test: z.boolean(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  cancelled_at: z.string().nullable(),
  link_expires_at: z.string().nullable().meta({
    description: "When its current link expires; null once the link was redeemed or revoked.",
  }),
  emails: z.array(RegistrationEmail).meta({ description: "Its emails, oldest first." }),
});

export const CancelledRegistration = Registration.extend({
  credit_returned: z.boolean().meta({
    description:
      "Whether this cancellation returned the credit the registration spent: only when its link was " +
      "never redeemed (and it was not a test registration).",
  }),
});

export const RegistrationList = z.object({
  data: z.array(Registration).meta({ description: "Oldest first (created_at, then id)." }),
  pagination: z.object({
    total: z.int().meta({ description: "Registrations matching the filters." }),
    limit: z.int(),
    offset: z.int(),
    has_more: z.boolean(),
  }),
});
