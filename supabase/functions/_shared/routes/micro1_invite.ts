import type { Hono } from "hono";
import type { z } from "zod";
import { type AppEnv, createFunctionApp, type ErrorRenderer } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import type { Requirement } from "../config.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createMicro1Inviter } from "../micro1/invite.ts";
import { micro1InviteRequestSchema, type Micro1InviteResponse } from "../micro1/schemas.ts";
import type { Operation } from "../operation.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";

/** Served at /functions/v1/interview/invite: micro1's base URL + /interview/invite. */
export const MICRO1_FUNCTION = "interview";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const MICRO1_REQUIRES: readonly Requirement[] = [
  "databaseUrl",
  "supabaseUrl",
  "interviewTokenSecret",
  "interviewBaseUrl",
];

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

/** micro1's invite, body in, answer out: the work of POST /interview/invite and of the MCP tool invite_candidates. */
export function micro1InviteOperation(runtime: Runtime): Operation<z.infer<typeof Micro1InviteResponse>> {
  const invite = createMicro1Inviter(runtime);
  const schema = micro1InviteRequestSchema(runtime.config.maxUsersPerRequest);
  return async (caller, raw, { deadline, headers }) => {
    const body = validate(schema, raw);
    const key = idempotencyKeyOf(headers, `${MICRO1_FUNCTION}/invite`, raw);
    const { response, replayed } = await invite(caller, body, key, deadline);
    return { answer: response, replayed };
  };
}

/** POST /interview/invite, micro1's API for the same job (docs/micro1.md), in micro1's envelope. */
export function micro1InviteApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(MICRO1_FUNCTION, runtime.config, micro1Error);
  const authenticate = createAuthenticator(runtime.config);
  const invite = micro1InviteOperation(runtime);

  app.post("/invite", async (c) => {
    const caller = await authenticate(c.req.raw.headers);
    const { answer, replayed } = await invite(caller, await readJsonObject(c), {
      deadline: c.get("deadline"),
      headers: c.req.raw.headers,
    });
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(answer);
  });
  return app;
}
