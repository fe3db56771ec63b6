/**
 * The shapes of POST /invite-users and POST /invite-accept: the handlers
 * validate with them and `openapi.ts` describes the endpoints from them.
 */
import { z } from "zod";
import {
  flag,
  linkExpiresAt,
  mojitoLanguageCode,
  RegisterUser,
  storable,
  UNSTORABLE,
  userList,
  uuid,
  validateRegisterUser,
  type ValidUser,
} from "../schemas.ts";

/** The roles invite-users grants besides `candidate`: the team's and the coaching portal's. */
export const MEMBER_ROLES = ["merchant_owner", "merchant", "merchant_selection", "mentor", "user"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export const INVITE_TYPES = ["candidate", ...MEMBER_ROLES] as const;

export const MESSAGE_FROM_RECRUITER_MAX = 2000;

/**
 * One person as sent: register-users' row plus `type` and `interview_id`.
 * Checked per row: a bad row fails alone ("Error: ..."); unknown keys are echoed back.
 */
export const InviteUser = RegisterUser.extend({
  name: RegisterUser.shape.name.meta({ description: "Display name of the person.", example: "Peter Parker" }),
  email: RegisterUser.shape.email.meta({
    description: "The person's email: identifies them and receives the invitation. Validated per item.",
    example: "peter@parker.com",
  }),
  type: z.enum(INVITE_TYPES).nullish().meta({
    description: '"candidate" (needs interview_id), the team roles "merchant_owner", "merchant", ' +
      '"merchant_selection", or the coaching-portal roles "user" (default) and "mentor".',
    example: "candidate",
  }),
  interview_id: z.string().nullish().meta({
    description:
      "For candidates: the interview (interview_def_set) or position (position_def_set) id. Ignored for other types.",
    format: "uuid",
    example: "04e09fa5-3fb8-4236-b37d-fca2bcd1cb66",
  }),
});

export type InviteRow =
  | { type: "candidate"; interviewId: string; user: ValidUser }
  | { type: MemberRole; user: ValidUser };

const InterviewId = z.guid();

/** A row's verdict: what to do with it, or its error message. */
export function validateInviteUser(row: unknown): InviteRow | { error: string } {
  const common = validateRegisterUser(row);
  if ("error" in common) return common;
  const fields = row as Record<string, unknown>;
  const type = fields.type ?? "user";
  if (!(INVITE_TYPES as readonly unknown[]).includes(type)) return { error: "Invalid type" };
  if (type !== "candidate") return { type: type as MemberRole, user: common.user };
  if (fields.interview_id === undefined || fields.interview_id === null || fields.interview_id === "") {
    return { error: "interview_id is required for candidates" };
  }
  if (!InterviewId.safeParse(fields.interview_id).success) return { error: "Invalid interview_id" };
  return {
    type: "candidate",
    interviewId: (fields.interview_id as string).toLowerCase(),
    user: common.user,
  };
}

export function inviteUsersRequestSchema(maxUsers: number) {
  return z.object({
    users: userList(InviteUser, maxUsers)
      .meta({
        description: "People to invite. Each is processed independently.",
        example: [
          {
            name: "Peter Parker",
            email: "peter@parker.com",
            type: "candidate",
            interview_id: "04e09fa5-3fb8-4236-b37d-fca2bcd1cb66",
          },
          { name: "Mia Mentor", email: "mia@example.com", type: "mentor" },
        ],
      }),
    merchant_id: uuid(
      "Merchant id. Required with the service key; with a user token honoured for the user's own merchant, " +
        "a sub-merchant of it, or by platform admins.",
    ).nullish(),
    force_invite: flag(
      'When true (or the string "true"), a still-pending invitation is sent again (with a new link; the old one ' +
        "stops working) instead of being skipped.",
    ),
    mojito_language_code: mojitoLanguageCode(),
    message_from_recruiter: z.string({ error: "Must be a string" })
      .max(MESSAGE_FROM_RECRUITER_MAX, `At most ${MESSAGE_FROM_RECRUITER_MAX} characters`)
      .refine(storable, `Contains ${UNSTORABLE}`)
      .nullish()
      .meta({
        description: "A personal note printed in every email of this request (as text, never as markup).",
      }),
    link_expires_at: linkExpiresAt(),
    dry_run: flag(
      'When true (or the string "true"), runs the request for real and rolls it back: the answer is exactly ' +
        "the real call's (results, credits, duplicates, reused registrations, errors) but nothing is written, no " +
        "email is sent, no credit spent, and no link or new id is returned.",
    ),
  });
}

/** The request envelope as validated: rows only need to be objects here; their fields are checked per row. */
export function inviteUsersEnvelopeSchema(maxUsers: number) {
  return inviteUsersRequestSchema(maxUsers).extend({
    users: userList(z.looseObject({}), maxUsers),
  });
}

export const INVITE_RESULTS = [
  "Invited",
  "Activated",
  "SubMerchantAdded",
  "CoachingAccessAdded",
  "Skipped",
] as const;
export type InviteResult = (typeof INVITE_RESULTS)[number];

export const InviteUserResult = z.looseObject({
  result: z.string().meta({
    description: `One of ${INVITE_RESULTS.join(", ")}, or "Error: <message>" for that row.`,
    example: "Invited",
  }),
  profile_id: z.guid().nullable().meta({
    description:
      "Candidates: the candidate profile. Other types: the person's account, or null while they have " +
      "none (an invitation is pending). Null on errors.",
  }),
  profile_interview_id: z.guid().nullable().optional().meta({
    description: "Candidates only: the registration. Null on errors.",
  }),
  invitation_id: z.guid().optional().meta({
    description: "Other types, while the person has no account: the invitation waiting to be accepted.",
  }),
});

export const InviteUsersResponse = z.array(InviteUserResult).meta({
  description: "The input users in input order, each annotated with its result.",
});

export const InviteAcceptRequest = z.object({
  invitation_token: z.string({ error: "Must be a string" }).min(1, "Field is required.").meta({
    description: "The token from the accept link's invitation_token parameter.",
  }),
});

export const InviteAcceptResponse = z.object({
  invitation_id: z.guid(),
  merchant_id: z.guid(),
  merchant_name: z.string(),
  account_id: z.guid(),
  role: z.enum(MEMBER_ROLES).meta({
    description: "The person's role at the merchant now (a higher one they already had is kept).",
  }),
  status: z.literal("accepted"),
});
