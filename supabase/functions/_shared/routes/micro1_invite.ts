import type { Hono } from "hono";
import { type AppEnv, createFunctionApp, type ErrorRenderer } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { micro1InviteRequestSchema } from "../micro1/schemas.ts";
import { createRegistrar } from "../registration.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";

/** Served at /functions/v1/interview/invite: micro1's base URL + /interview/invite. */
export const MICRO1_FUNCTION = "interview";

/**
 * micro1's envelope for every failure, `{status: false, message}`; micro1 documents 400 for whatever the
 * request got wrong, so our 422s (and 402, out of credits) are 400s here.
 */
const micro1Error: ErrorRenderer = (error, requestId) => ({
  status: error.status === 422 || error.status === 402 ? 400 : error.status,
  body: {
    status: false,
    message: error.field ? `${error.field}: ${error.message}` : error.message,
    ...(requestId ? { request_id: requestId } : {}),
  },
});

/**
 * POST /interview/invite, micro1's API for the same job (docs/micro1.md): registers the candidates, or
 * re-invites one by candidate_id, through the register-users registration, all or nothing.
 */
export function micro1InviteApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(MICRO1_FUNCTION, runtime.config, micro1Error);
  const authenticate = createAuthenticator(runtime.config);
  const registerUsers = createRegistrar(runtime);
  const schema = micro1InviteRequestSchema(runtime.config.maxUsersPerRequest);

  app.post("/invite", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const body = validate(schema, await readJsonObject(c));
    const candidates = body.candidates ?? [];
    if (body.candidate_id && candidates.length > 0) {
      throw new ApiError(422, "Give either candidates or candidate_id, not both", "candidate_id");
    }
    if (!body.candidate_id && candidates.length === 0) {
      throw new ApiError(422, "At least one candidate is required", "candidates");
    }
    const sendEmail = body.disable_email_notification !== true;
    const outcomes = await registerUsers(caller, {
      interviewId: body.interview_id,
      merchantId: body.merchant_id ?? null,
      isTest: false,
      sendInvitation: sendEmail,
      hideMenu: false,
      hideIframe: false,
      users: candidates,
      allOrNothing: true,
      candidateId: body.candidate_id ?? undefined,
      jobApplicationId: body.job_application_id ?? undefined,
    }, c.get("deadline"));
    const invitations: { candidate_id: string; candidate_email: string; invite_url: string }[] = [];
    const failed: string[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.ok && outcome.interviewUrl !== undefined) {
        invitations.push({
          candidate_id: outcome.profileId,
          candidate_email: outcome.email,
          invite_url: outcome.interviewUrl,
        });
      } else failed.push(`candidates.${i}: ${outcome.ok ? "not registered" : outcome.error}`);
    });
    if (failed.length > 0) throw new ApiError(422, `Nobody was invited: ${failed.join("; ")}`);
    return c.json({
      status: true,
      message: sendEmail ? "Invitations sent successfully" : "Invitations created; no email sent",
      data: { invitations },
    });
  });
  return app;
}
