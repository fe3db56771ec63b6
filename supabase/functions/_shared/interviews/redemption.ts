import { interviewTokenKey, verifyInterviewToken } from "./token.ts";
import { createOnce, type IdempotencyKey } from "../idempotency.ts";
import type { Runtime } from "../runtime.ts";
import type { z } from "zod";
import type { RedeemResponse } from "../schemas.ts";

/**
 * Spends a one-time interview token: the signature and expiry are checked
 * here, single use under concurrency by `app.redeem_interview_token`. With an
 * Idempotency-Key (scoped to the token's merchant), the interview app's retry
 * of a redemption whose answer it lost gets that answer again, not "already
 * used".
 */
export function createRedeemer(runtime: Runtime) {
  const tokenKey = interviewTokenKey(runtime.config.interviewTokenSecret);
  const once = createOnce(runtime);
  return async function redeem(
    token: string,
    idempotencyKey: IdempotencyKey | null,
    deadline: number,
  ): Promise<{ result: z.infer<typeof RedeemResponse>; replayed: boolean }> {
    const claims = await verifyInterviewToken(await tokenKey, token);
    return await once<z.infer<typeof RedeemResponse>, null>(
      null,
      claims.merchant_id,
      idempotencyKey,
      null,
      (sql) => sql`app.redeem_interview_token(${claims.jti}::uuid, ${claims.profile_interview_id}::uuid)`,
      deadline,
    );
  };
}
