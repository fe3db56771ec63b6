import type { z } from "zod";
import type { Caller } from "../auth.ts";
import { ApiError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import type { InviteAcceptResponse } from "./schemas.ts";
import { invitationTokenKey, verifyInvitationToken } from "./token.ts";

/**
 * Accepts an invitation as the signed-in person: the link's signature and
 * expiry are checked here; that it is the invitation's live link, sent to this
 * person's email, and used once under concurrency, by `app.accept_invitation`.
 */
export function createInvitationAccepter(runtime: Runtime) {
  const tokenKey = invitationTokenKey(runtime.config.invitationTokenSecret);
  return async function accept(
    caller: Caller,
    token: string,
    deadline: number,
  ): Promise<z.infer<typeof InviteAcceptResponse>> {
    if (caller.kind !== "user") {
      throw new ApiError(
        403,
        "Only the invited person can accept an invitation: call with their own access token",
      );
    }
    const email = caller.email;
    if (!email) throw new ApiError(403, "The access token carries no email address");
    const claims = await verifyInvitationToken(tokenKey, token);
    const [{ result }] = await runtime.db.query(
      deadline,
      (sql) =>
        sql<{ result: z.infer<typeof InviteAcceptResponse> }[]>`
        select app.accept_invitation(
          ${claims.jti}::uuid, ${claims.sub}::uuid, ${caller.userId}::uuid, ${email}
        ) as result`,
    );
    return result;
  };
}
