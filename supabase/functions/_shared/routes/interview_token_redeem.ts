import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
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
    const { interview_token } = validate(
      RedeemRequest,
      await readJsonObject(c),
    );
    return c.json(await redeem(interview_token, c.get("deadline")));
  });
  return app;
}
