import type { z } from "zod";
import type { Caller } from "../auth.ts";
import { ApiError } from "../errors.ts";
import { type IdempotencyKey, IDEMPOTENT_REPLAYED_HEADER } from "../idempotency.ts";
import { createRegistrar } from "../interviews/registration.ts";
import type { Runtime } from "../runtime.ts";
import type { micro1InviteRequestSchema, Micro1InviteResponse } from "./schemas.ts";

/**
 * micro1's invite on the register-users registration (docs/micro1.md): the candidates, or the one named
 * by candidate_id, in one SQL call, all or nothing. A request that fails for any candidate is a 422
 * (micro1's 400) naming each failure; nothing was written.
 */
export function createMicro1Inviter(runtime: Runtime) {
  const registerUsers = createRegistrar(runtime);

  return async function invite(
    caller: Caller,
    body: z.output<ReturnType<typeof micro1InviteRequestSchema>>,
    idempotencyKey: IdempotencyKey | null,
    deadline: number,
  ): Promise<{ response: z.infer<typeof Micro1InviteResponse>; replayed: boolean }> {
    const candidates = body.candidates ?? [];
    if (body.candidate_id && candidates.length > 0) {
      throw new ApiError(422, "Give either candidates or candidate_id, not both", "candidate_id");
    }
    if (!body.candidate_id && candidates.length === 0) {
      throw new ApiError(422, "At least one candidate is required", "candidates");
    }
    const sendEmail = body.disable_email_notification !== true;
    const { outcomes, replayed } = await registerUsers(caller, {
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
      linkExpiresAt: body.link_expires_at,
      dryRun: body.dry_run === true,
      idempotencyKey,
    }, deadline);
    const failed = outcomes.flatMap((outcome, i) => outcome.ok ? [] : [`candidates.${i}: ${outcome.error}`]);
    if (failed.length > 0) {
      throw new ApiError(
        422,
        `Nobody was invited: ${failed.join("; ")}`,
        undefined,
        replayed ? { [IDEMPOTENT_REPLAYED_HEADER]: "true" } : {},
      );
    }
    const dryRun = body.dry_run === true;
    const response: z.infer<typeof Micro1InviteResponse> = {
      status: true,
      message: dryRun
        ? "Dry run: every candidate would be invited; nothing was written or sent"
        : sendEmail
        ? "Invitations sent successfully"
        : "Invitations created; no email sent",
      data: {
        invitations: outcomes.flatMap((outcome) => {
          if (!outcome.ok) return [];
          // A dry run created nothing: its candidate ids and links name nothing.
          return dryRun ? [{ candidate_email: outcome.email }] : [{
            candidate_id: outcome.profileId,
            candidate_email: outcome.email,
            invite_url: outcome.interviewUrl,
          }];
        }),
      },
    };
    return { response, replayed };
  };
}
