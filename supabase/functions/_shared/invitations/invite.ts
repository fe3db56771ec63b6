import type { Caller } from "../auth.ts";
import { apiErrorFromDatabase } from "../db_errors.ts";
import { ApiError } from "../errors.ts";
import { createRegistrar } from "../registration.ts";
import type { Runtime } from "../runtime.ts";
import { type InviteResult, type MemberRole, type MojitoLanguage, validateInviteUser } from "./schemas.ts";

export interface InviteRequest {
  merchantId: string | null;
  forceInvite: boolean;
  language: MojitoLanguage;
  messageFromRecruiter: string | null;
  /** The rows as sent; each is validated on its own. */
  users: Record<string, unknown>[];
}

export type InviteOutcome =
  | { candidate: true; result: "Invited" | "Skipped"; profileId: string; profileInterviewId: string }
  | { candidate: false; result: InviteResult; profileId: string | null; invitationId: string | null }
  | { candidate: boolean; error: string };

type CandidateRow = {
  i: number;
  emailKey: string;
  /** The interview or position id the row names. */
  interviewId: string;
};

type MemberRow = {
  i: number;
  email: string;
  name: string | null;
  role: MemberRole;
};

interface MembersResult {
  merchant_id: string;
  rows: (
    | { i: number; result: InviteResult; profile_id: string | null; invitation_id: string | null }
    | { i: number; error: string }
  )[];
}

/**
 * Invites a batch of people to a merchant, in one transaction. Team and
 * coaching rows go to `app.invite_members` in one call, which also
 * authorizes the caller for the whole request; candidate rows are registered
 * through the register-users registrar with the invitation email, one call
 * (under a savepoint) per interview they name. A group whose interview cannot
 * take registrations fails only its rows; any other fault rolls the whole
 * request back. Returns one outcome per input row, in input order.
 */
export function createInviter(runtime: Runtime) {
  const { db, config } = runtime;
  const registerUsers = createRegistrar(runtime);

  return async function inviteUsers(
    caller: Caller,
    request: InviteRequest,
    deadline: number,
  ): Promise<InviteOutcome[]> {
    const outcomes: (InviteOutcome | undefined)[] = new Array(request.users.length);
    const members: MemberRow[] = [];
    const candidateRows: CandidateRow[] = [];
    const seenEmails = new Set<string>();
    request.users.forEach((row, i) => {
      const verdict = validateInviteUser(row);
      if ("error" in verdict) {
        outcomes[i] = { candidate: row.type === "candidate", error: verdict.error };
      } else if (verdict.type === "candidate") {
        candidateRows.push({ i, emailKey: verdict.email.toLowerCase(), interviewId: verdict.interviewId });
      } else if (seenEmails.has(verdict.email.toLowerCase())) {
        outcomes[i] = { candidate: false, error: "Duplicate email in request" };
      } else {
        seenEmails.add(verdict.email.toLowerCase());
        members.push({ i, email: verdict.email, name: verdict.name, role: verdict.type });
      }
    });

    const emailPayload = { message_from_recruiter: request.messageFromRecruiter };
    const issuedAt = Math.floor(Date.now() / 1000);
    await db.transaction(deadline, async (tx) => {
      // Made even with no team or coaching row: it authorizes the caller for
      // the merchant, so a request rejected as a whole is rejected first.
      const [{ result }] = await tx<{ result: MembersResult }[]>`
        select app.invite_members(
          ${caller.kind === "user" ? caller.userId : null}::uuid,
          ${request.merchantId}::uuid,
          ${request.forceInvite},
          to_timestamp(${issuedAt}::bigint),
          to_timestamp(${issuedAt + config.invitationTtlSeconds}::bigint),
          ${tx.json(members)}::jsonb,
          ${request.language},
          ${tx.json(emailPayload)}::jsonb
        ) as result`;
      for (const row of result.rows) {
        outcomes[row.i] = "error" in row ? { candidate: false, error: row.error } : {
          candidate: false,
          result: row.result,
          profileId: row.profile_id,
          invitationId: row.invitation_id,
        };
      }

      // Candidate rows by the id they name, in order of first appearance
      // (credits go to earlier rows first). A candidate named twice for one
      // interview is a duplicate even when one row names a position of it,
      // so with more than one id named, ids are resolved to interviews first.
      const named = [...new Set(candidateRows.map((row) => row.interviewId))];
      const interviewOf = new Map<string, string | null>(
        named.length > 1
          ? (await tx<{ id: string; interview_id: string | null }[]>`
            select id, interview_id from app.resolve_interview_ids(${result.merchant_id}::uuid, ${named}::uuid[])`)
            .map((row) => [row.id, row.interview_id])
          : [],
      );
      const candidates = new Map<string, number[]>();
      const seenCandidates = new Set<string>();
      for (const { i, emailKey, interviewId } of candidateRows) {
        // An id that names no interview of the merchant fails its rows here, as registering would: a
        // savepoint per unknown id held the merchant's batch lock for each (2 s for 1,000 of them).
        if (interviewOf.has(interviewId) && interviewOf.get(interviewId) === null) {
          outcomes[i] = { candidate: true, error: "Interview not found" };
          continue;
        }
        const key = `${interviewOf.get(interviewId) ?? interviewId} ${emailKey}`;
        if (seenCandidates.has(key)) {
          outcomes[i] = { candidate: true, error: "Duplicate email in request" };
          continue;
        }
        seenCandidates.add(key);
        const group = candidates.get(interviewId);
        if (group) group.push(i);
        else candidates.set(interviewId, [i]);
      }

      // Several groups are several batches in one transaction, and the first
      // keeps the merchant's credit row until commit, breaking the order
      // batches lock in (merchant last). Taking the merchant's batch lock
      // exclusively first runs them alone, as one batch would.
      if (candidates.size > 1) {
        await tx`select pg_advisory_xact_lock(app.merchant_lock_key('credits', ${result.merchant_id}::uuid))`;
      }
      for (const [interviewId, rows] of candidates) {
        try {
          const registered = await tx.savepoint((savepoint) =>
            registerUsers(caller, {
              interviewId,
              merchantId: result.merchant_id,
              isTest: false,
              sendInvitation: true,
              hideMenu: false,
              hideIframe: false,
              users: rows.map((i) => request.users[i]),
              language: request.language,
              emailPayload,
              skipInvited: !request.forceInvite,
            }, deadline, savepoint)
          );
          registered.forEach((outcome, k) => {
            outcomes[rows[k]] = outcome.ok
              ? {
                candidate: true,
                result: "skipped" in outcome ? "Skipped" : "Invited",
                profileId: outcome.profileId,
                profileInterviewId: outcome.profileInterviewId,
              }
              : { candidate: true, error: outcome.error };
          });
        } catch (err) {
          // An interview that does not exist or cannot take registrations fails
          // only the rows that name it; anything else fails the request.
          const apiError = err instanceof ApiError ? err : apiErrorFromDatabase(err);
          if (apiError?.status !== 422 || apiError.field !== "interview_id") throw err;
          for (const i of rows) outcomes[i] = { candidate: true, error: apiError.message };
        }
      }
    });
    return outcomes.map((outcome, i) => {
      if (!outcome) throw new Error(`invite-users decided no outcome for row ${i}`);
      return outcome;
    });
  };
}
