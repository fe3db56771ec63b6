import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createInviter, type InviteOutcome } from "../invitations/invite.ts";
import { inviteUsersEnvelopeSchema } from "../invitations/schemas.ts";
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

/** A dry run created nothing: ids it would have created name nothing, so none is shown. */
function dryRunFields(fields: Record<string, unknown>) {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [key, key === "result" ? value : null]),
  );
}

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
export function inviteUsersOperation(runtime: Runtime): Operation<Record<string, unknown>[]> {
  const inviteUsers = createInviter(runtime);
  const envelope = inviteUsersEnvelopeSchema(runtime.config.maxUsersPerRequest);

  return async (caller, raw, { deadline, headers }) => {
    const body = validate(envelope, raw);
    const { outcomes, replayed } = await inviteUsers(caller, {
      merchantId: body.merchant_id ?? null,
      forceInvite: body.force_invite,
      language: body.mojito_language_code ?? "en",
      messageFromRecruiter: body.message_from_recruiter || null,
      users: body.users,
      linkExpiresAt: body.link_expires_at ?? null,
      dryRun: body.dry_run,
      idempotencyKey: idempotencyKeyOf(headers, INVITE_USERS_FUNCTION, raw),
    }, deadline);
    const fields = body.dry_run
      ? (i: number) => dryRunFields(resultFields(outcomes[i]))
      : (i: number) => resultFields(outcomes[i]);
    return { answer: body.users.map((user, i) => answerRow(user, ANSWER_KEYS, fields(i))), replayed };
  };
}

/** POST /invite-users: invites candidates, coaching users and team members to a merchant, emailing each. */
export function inviteUsersApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(INVITE_USERS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const inviteUsers = inviteUsersOperation(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { answer, replayed } = await inviteUsers(caller, await readJsonObject(c), {
      deadline: c.get("deadline"),
      headers: c.req.raw.headers,
    });
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(answer);
  });
  return app;
}
