import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { idempotencyKeyOf, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createRedeemer } from "../interviews/redemption.ts";
import { readJsonObject, validate } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { RedeemRequest } from "../schemas.ts";

export const INTERVIEW_TOKEN_REDEEM_FUNCTION = "interview-token-redeem";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const INTERVIEW_TOKEN_REDEEM_REQUIRES: readonly Requirement[] = [
  "databaseUrl",
  "interviewTokenSecret",
];

/** POST /interview-token-redeem: the interview app spends a candidate's one-time link. The token is the credential. */
export function interviewTokenRedeemApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(
    INTERVIEW_TOKEN_REDEEM_FUNCTION,
    runtime.config,
  );
  const redeem = createRedeemer(runtime);

  app.post("/", async (c) => {
    const raw = await readJsonObject(c);
    const { interview_token } = validate(RedeemRequest, raw);
    const key = idempotencyKeyOf(c.req.raw.headers, INTERVIEW_TOKEN_REDEEM_FUNCTION, raw);
    const { result, replayed } = await redeem(interview_token, key, c.get("deadline"));
    if (replayed) c.header(IDEMPOTENT_REPLAYED_HEADER, "true");
    return c.json(result);
  });
  return app;
}
