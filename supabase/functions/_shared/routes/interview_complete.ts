import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createAuthenticator } from "../auth.ts";
import { createCompleter } from "../interviews/completion.ts";
import { ApiError } from "../errors.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { CompleteInterviewRequest } from "../schemas.ts";

export const INTERVIEW_COMPLETE_FUNCTION = "interview-complete";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const INTERVIEW_COMPLETE_REQUIRES: readonly Requirement[] = ["databaseUrl", "supabaseUrl"];

/**
 * POST /interview-complete: the interview app's backend reports that a
 * candidate finished. Only the service key may: the candidate's own link is
 * spent by then, and merchant staff do not take interviews.
 */
export function interviewCompleteApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(INTERVIEW_COMPLETE_FUNCTION, runtime.config);
  const authenticate = createAuthenticator(runtime.config);
  const complete = createCompleter(runtime);

  app.post("/", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    if (caller.kind !== "service") throw new ApiError(403, "Role not permitted");
    const { profile_interview_id } = validate(CompleteInterviewRequest, await readJsonObject(c));
    return c.json(await complete(profile_interview_id, c.get("deadline")));
  });
  return app;
}
