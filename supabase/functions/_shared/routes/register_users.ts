import type { Hono } from "hono";
import type { z } from "zod";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createRegistrar, type RowOutcome } from "../interviews/registration.ts";
import { answerRow, type Operation } from "../operation.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { registerUsersEnvelopeSchema, type RegisterUsersResponse } from "../schemas.ts";

export const REGISTER_USERS_FUNCTION = "job-interview-register-users";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const REGISTER_USERS_REQUIRES: readonly Requirement[] = [
  "databaseUrl",
  "supabaseUrl",
  "interviewTokenSecret",
  "interviewBaseUrl",
];

const ANSWER_KEYS = ["result", "interview_url", "profile_interview_id"] as const;

/** A row's result; a dry run's has no link or registration id: it created neither. */
function resultFields(outcome: RowOutcome, dryRun: boolean) {
  if (!outcome.ok) return { result: `Error: ${outcome.error}` };
  if (dryRun) return { result: "ok" };
  return {
    result: "ok",
    interview_url: outcome.interviewUrl,
    profile_interview_id: outcome.profileInterviewId,
  };
}

/**
 * Registering users, body in, one row per user out: the work of POST /job-interview-register-users and of the
 * MCP tool register_users_for_interview.
 */
export function registerUsersOperation(runtime: Runtime): Operation<z.infer<typeof RegisterUsersResponse>> {
  const registerUsers = createRegistrar(runtime);
  const envelope = registerUsersEnvelopeSchema(runtime.config.maxUsersPerRequest);

  return async (caller, raw, { deadline, headers }) => {
    const body = validate(envelope, raw);
    if (body.type === "url" && body.send_email === true) {
      throw new ApiError(422, 'send_email: true contradicts type "url"', "send_email");
    }
    const { outcomes, replayed } = await registerUsers(caller, {
      interviewId: body.interview_id,
      merchantId: body.merchant_id ?? null,
      isTest: body.is_test,
      sendInvitation: body.type === "invitation" || body.send_email === true,
      hideMenu: body.hide_menu,
      hideIframe: body.hide_iframe,
      users: body.users,
      language: body.mojito_language_code ?? "en",
      linkExpiresAt: body.link_expires_at,
      dryRun: body.dry_run,
      idempotencyKey: idempotencyKeyOf(headers, REGISTER_USERS_FUNCTION, raw),
    }, deadline);
    const answer = body.users.map((user, i) =>
      answerRow(user, ANSWER_KEYS, resultFields(outcomes[i], body.dry_run))
    );
    return { answer, replayed };
  };
}

/** POST /job-interview-register-users: one-time interview links, optionally with the invitation email chain. */
export function registerUsersApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(REGISTER_USERS_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const registerUsers = registerUsersOperation(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { answer, replayed } = await registerUsers(caller, await readJsonObject(c), {
      deadline: c.get("deadline"),
      headers: c.req.raw.headers,
    });
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(answer);
  });
  return app;
}
