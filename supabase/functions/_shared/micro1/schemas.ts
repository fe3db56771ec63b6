/**
 * micro1's POST /interview/invite (../shared/seeds/004), field for field: the handler validates with
 * these and `openapi.ts` describes the endpoint from them.
 */
import { z } from "zod";
import { linkExpiresAt, storable, UNSTORABLE, uuid } from "../schemas.ts";

export const Micro1Candidate = z.object({
  name: z.string({ error: "Must be a string" }).min(1, "Field is required.")
    .meta({ description: "The name of the candidate to invite", example: "John Doe" }),
  email: z.string({ error: "Must be a string" })
    .meta({ description: "The email of the candidate to invite", example: "candidate@example.com" }),
});

export function micro1InviteRequestSchema(maxCandidates: number) {
  return z.object({
    interview_id: uuid("The interview (or position) to invite candidates to.")
      .meta({ example: "c0000000-0000-4000-8000-000000000001" }),
    candidates: z.array(Micro1Candidate, { error: "Must be an array of objects" })
      .max(maxCandidates, `At most ${maxCandidates} candidates per request`)
      .optional().meta({ description: "The list of candidates to invite" }),
    job_application_id: z.string({ error: "Must be a string" }).max(255, "At most 255 characters")
      .refine(storable, `Contains ${UNSTORABLE}`).nullish().meta({
        description: "The ID of the job application to invite candidates (Optional). Kept on each " +
          "registration and returned wherever the registration is shown (interview-token-redeem).",
        example: "123e4567-e89b-12d3-a456-426614174000",
      }),
    candidate_id: uuid(
      "The ID of the candidate to re-send the invitation (Optional): a candidate_id an earlier invite " +
        "returned. The candidate gets a new link (the old one stops working) and, unless disabled, a new email.",
    ).nullish(),
    disable_email_notification: z.boolean({ error: "Must be a boolean" }).nullish().meta({
      description:
        "Whether to disable the email notification sent to the candidate for the interview invitation",
      default: false,
    }),
    link_expires_at: linkExpiresAt().meta({
      description: "Not in micro1's API: when the links stop working (see job-interview-register-users).",
    }),
    dry_run: z.boolean({ error: "Must be a boolean" }).nullish().meta({
      description:
        "Not in micro1's API: run the invite for real and roll it back. The answer (or the 400) is " +
        "exactly the real call's, but nothing is written or sent; invitations then carry candidate_email only.",
    }),
    merchant_id: uuid(
      "Not in micro1's API: the merchant to act for, required with the service key; with an API key, " +
        "optional (the key's merchant or a sub-merchant of it).",
    ).nullish(),
  });
}

export const Micro1Invitation = z.object({
  candidate_id: z.guid().optional().meta({
    description: "The ID of the candidate (their candidate profile); absent in a dry run",
  }),
  candidate_email: z.string().meta({ description: "The email of the candidate" }),
  invite_url: z.string().optional().meta({ description: "The one-time interview URL; absent in a dry run" }),
});

export const Micro1InviteResponse = z.object({
  status: z.literal(true),
  message: z.string().meta({ example: "Invitations sent successfully" }),
  data: z.object({ invitations: z.array(Micro1Invitation) }),
});

export const Micro1Error = z.object({
  status: z.literal(false),
  message: z.string().meta({ example: "candidates.0.email: Invalid email" }),
  request_id: z.string().optional().meta({
    description: "On 500s: the id under which the fault was logged.",
  }),
});
