import { interviewTokenKey, verifyInterviewToken } from "./token.ts";
import type { Runtime } from "../runtime.ts";
import type { z } from "zod";
import type { RedeemResponse } from "../schemas.ts";

/**
 * Spends a one-time interview token: the signature and expiry are checked
 * here, single use under concurrency by `app.redeem_interview_token`.
 */
export function createRedeemer(runtime: Runtime) {
  const tokenKey = interviewTokenKey(runtime.config.interviewTokenSecret);
  return async function redeem(
    token: string,
    deadline: number,
  ): Promise<z.infer<typeof RedeemResponse>> {
    const claims = await verifyInterviewToken(await tokenKey, token);
    const [{ result }] = await runtime.db.query(
      deadline,
      (sql) =>
        sql<{ result: z.infer<typeof RedeemResponse> }[]>`
        select app.redeem_interview_token(${claims.jti}::uuid, ${claims.profile_interview_id}::uuid) as result`,
    );
    return result;
  };
}
