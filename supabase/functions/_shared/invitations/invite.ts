import { type Caller, callerSql } from "../auth.ts";
import { createOnce, type IdempotencyKey } from "../idempotency.ts";
import { linkExpiry } from "../interviews/token.ts";
import type { Runtime } from "../runtime.ts";
import type { MojitoLanguage, ValidUser } from "../schemas.ts";
import { type InviteResult, type MemberRole, validateInviteUser } from "./schemas.ts";

export interface InviteRequest {
  merchantId: string | null;
  forceInvite: boolean;
  language: MojitoLanguage;
  messageFromRecruiter: string | null;
  /** The rows as sent; each is validated on its own. */
  users: Record<string, unknown>[];
  /** The request's Idempotency-Key: a repeat is answered with the first request's outcomes. */
  idempotencyKey: IdempotencyKey | null;
  /** The request's link_expires_at for its candidates' interview links (see `linkExpiry`). */
  linkExpiresAt: string | null;
  /** Run the real call and roll it back (app.invite_users_dry_run); an Idempotency-Key is not used. */
  dryRun: boolean;
}

export type InviteOutcome =
  | { candidate: true; result: "Invited" | "Skipped"; profileId: string; profileInterviewId: string }
  | { candidate: false; result: InviteResult; profileId: string | null; invitationId: string | null }
  | { candidate: boolean; error: string };

type MemberRow = {
  i: number;
  email: string;
  name: string | null;
  role: MemberRole;
};

/** A candidate row for `app.invite_users`: register-users' row and the interview or position id it names. */
type CandidateRow = ValidUser & { i: number; interview_id: string };

type DatabaseRow =
  | { i: number; error: string }
  | { i: number; result: InviteResult; profile_id: string | null; invitation_id: string | null }
  | { i: number; profile_id: string; profile_interview_id: string; skipped?: true };

/**
 * Invites a batch of people to a merchant in one statement, `app.invite_users` (one transaction): team
 * and coaching rows become invitations, candidate rows registrations with the invitation email. Rows are
 * validated here, each on its own; the database authorizes the caller, groups candidates by interview and
 * finds duplicates among them. Returns one outcome per input row, in input order.
 */
export function createInviter(runtime: Runtime) {
  const { config } = runtime;
  const once = createOnce(runtime);

  return async function inviteUsers(
    caller: Caller,
    request: InviteRequest,
    deadline: number,
  ): Promise<{ outcomes: InviteOutcome[]; replayed: boolean }> {
    const outcomes: (InviteOutcome | undefined)[] = new Array(request.users.length);
    const members: MemberRow[] = [];
    const candidates: CandidateRow[] = [];
    const seenEmails = new Set<string>();
    request.users.forEach((row, i) => {
      const verdict = validateInviteUser(row);
      if ("error" in verdict) {
        outcomes[i] = { candidate: row.type === "candidate", error: verdict.error };
      } else if (verdict.type === "candidate") {
        candidates.push({ i, interview_id: verdict.interviewId, ...verdict.user });
      } else if (seenEmails.has(verdict.user.email.toLowerCase())) {
        outcomes[i] = { candidate: false, error: "Duplicate email in request" };
      } else {
        seenEmails.add(verdict.user.email.toLowerCase());
        members.push({ i, email: verdict.user.email, name: verdict.user.name, role: verdict.type });
      }
    });

    const issuedAt = Math.floor(Date.now() / 1000);
    const linkExpiresAt = linkExpiry(config, request.linkExpiresAt, issuedAt);
    const { result, replayed } = await once<{ merchant_id: string; rows: DatabaseRow[] }, null>(
      caller,
      request.merchantId,
      request.dryRun ? null : request.idempotencyKey,
      null,
      (sql) => {
        const args = sql`
          ${callerSql(sql, caller)},
          ${request.merchantId}::uuid,
          ${request.forceInvite},
          to_timestamp(${issuedAt}::bigint),
          to_timestamp(${issuedAt + config.invitationTtlSeconds}::bigint),
          to_timestamp(${linkExpiresAt}::bigint),
          ${sql.json(members)}::jsonb,
          ${sql.json(candidates)}::jsonb,
          ${request.language},
          ${sql.json({ message_from_recruiter: request.messageFromRecruiter })}::jsonb`;
        return request.dryRun ? sql`app.invite_users_dry_run(${args})` : sql`app.invite_users(${args})`;
      },
      deadline,
    );
    for (const row of result.rows) {
      const candidate = request.users[row.i].type === "candidate";
      if ("error" in row) outcomes[row.i] = { candidate, error: row.error };
      else if ("profile_interview_id" in row) {
        outcomes[row.i] = {
          candidate: true,
          result: row.skipped ? "Skipped" : "Invited",
          profileId: row.profile_id,
          profileInterviewId: row.profile_interview_id,
        };
      } else {
        outcomes[row.i] = {
          candidate: false,
          result: row.result,
          profileId: row.profile_id,
          invitationId: row.invitation_id,
        };
      }
    }
    return {
      outcomes: outcomes.map((outcome, i) => {
        if (!outcome) throw new Error(`invite-users decided no outcome for row ${i}`);
        return outcome;
      }),
      replayed,
    };
  };
}
