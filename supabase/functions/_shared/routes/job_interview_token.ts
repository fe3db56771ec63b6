import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { apiErrorFromDatabase } from "../db_errors.ts";
import { ApiError } from "../errors.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createRegistrar } from "../interviews/registration.ts";
import type { Operation } from "../operation.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { REGISTER_USERS_REQUIRES } from "./register_users.ts";
import { JobInterviewTokenRequest } from "../schemas.ts";

export const JOB_INTERVIEW_TOKEN_FUNCTION = "job-interview-token";
/** The settings it cannot start without (config.ts REQUIREMENTS): register-users'. */
export const JOB_INTERVIEW_TOKEN_REQUIRES: readonly Requirement[] = REGISTER_USERS_REQUIRES;

/**
 * JobMojito's generate_interview_url, body in, URL out: the work of POST /job-interview-token and of the MCP
 * tool generate_interview_url. For "interview-for-profile", a new one-time URL for a candidate profile and an
 * interview: registration's re-send of one candidate (their open registration, or a new one for a credit),
 * the old link revoked.
 */
export function jobInterviewTokenOperation(runtime: Runtime): Operation<string> {
  const registerUsers = createRegistrar(runtime);

  return async (caller, raw, { deadline, headers }) => {
    const body = validate(JobInterviewTokenRequest, raw);
    if (body.type !== "interview-for-profile") {
      throw new ApiError(
        422,
        `type "${body.type}" is not supported yet: only "interview-for-profile"`,
        "type",
      );
    }
    if (!body.interview_id) throw new ApiError(422, "Field is required.", "interview_id");
    if (!body.interview_profile_id) throw new ApiError(422, "Field is required.", "interview_profile_id");
    const { outcomes: [outcome], replayed } = await registerUsers(caller, {
      interviewId: body.interview_id,
      merchantId: body.merchant_id ?? null,
      isTest: false,
      sendInvitation: false,
      hideMenu: body.hide_menu,
      hideIframe: false,
      users: [],
      candidateId: body.interview_profile_id,
      linkExpiresAt: body.link_expires_at,
      idempotencyKey: idempotencyKeyOf(headers, JOB_INTERVIEW_TOKEN_FUNCTION, raw),
    }, deadline).catch((err) => {
      // Registration names the candidate candidate_id (micro1's name); this endpoint calls it otherwise.
      const apiError = err instanceof ApiError ? err : apiErrorFromDatabase(err);
      throw apiError?.field === "candidate_id"
        ? new ApiError(apiError.status, apiError.message, "interview_profile_id")
        : err;
    });
    if (!outcome.ok) throw new ApiError(422, outcome.error, "interview_profile_id");
    return { answer: outcome.interviewUrl, replayed };
  };
}

/** POST /job-interview-token: JobMojito's generate_interview_url, answered as a bare JSON string. */
export function jobInterviewTokenApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(JOB_INTERVIEW_TOKEN_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const generateInterviewUrl = jobInterviewTokenOperation(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { answer, replayed } = await generateInterviewUrl(caller, await readJsonObject(c), {
      deadline: c.get("deadline"),
      headers: c.req.raw.headers,
    });
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(answer);
  });
  return app;
}
