import type { Hono } from "hono";
import type { z } from "zod";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { createInviter, type InviteOutcome } from "../invitations/invite.ts";
import { inviteUsersEnvelopeSchema, type InviteUsersResponse } from "../invitations/schemas.ts";
import { answerRow, type Operation } from "../operation.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";

export const INVITE_USERS_FUNCTION = "invite-users";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const INVITE_USERS_REQUIRES: readonly Requirement[] = [
  "databaseUrl",
  "supabaseUrl",
  "interviewTokenSecret",
  "interviewBaseUrl",
];

const ANSWER_KEYS = ["result", "profile_id", "profile_interview_id", "invitation_id"] as const;

function resultFields(outcome: InviteOutcome) {
  if ("error" in outcome) {
    return outcome.candidate
      ? { result: `Error: ${outcome.error}`, profile_id: null, profile_interview_id: null }
      : { result: `Error: ${outcome.error}`, profile_id: null };
  }
  if (outcome.candidate) {
    return {
      result: outcome.result,
      profile_id: outcome.profileId,
      profile_interview_id: outcome.profileInterviewId,
    };
  }
  return outcome.invitationId
    ? { result: outcome.result, profile_id: outcome.profileId, invitation_id: outcome.invitationId }
    : { result: outcome.result, profile_id: outcome.profileId };
}

/** Inviting users, body in, one row per user out: the work of POST /invite-users and of the MCP tool invite_users. */
export function inviteUsersOperation(runtime: Runtime): Operation<z.infer<typeof InviteUsersResponse>> {
  const inviteUsers = createInviter(runtime);
  const envelope = inviteUsersEnvelopeSchema(runtime.config.maxUsersPerRequest);

  return async (caller, raw, deadline) => {
    const body = validate(envelope, raw);
    const outcomes = await inviteUsers(caller, {
      merchantId: body.merchant_id ?? null,
      forceInvite: body.force_invite,
      language: body.mojito_language_code ?? "en",
      messageFromRecruiter: body.message_from_recruiter || null,
      users: body.users,
    }, deadline);
    return body.users.map((user, i) => answerRow(user, ANSWER_KEYS, resultFields(outcomes[i])));
  };
}

/** POST /invite-users: invites candidates, coaching users and team members to a merchant, emailing each. */
export function inviteUsersApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(INVITE_USERS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const inviteUsers = inviteUsersOperation(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    return c.json(await inviteUsers(caller, await readJsonObject(c), c.get("deadline")));
  });
  return app;
}
