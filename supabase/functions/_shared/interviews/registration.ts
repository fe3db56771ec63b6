import { type Caller, callerSql } from "../auth.ts";
import { createOnce, type IdempotencyKey } from "../idempotency.ts";
import { buildInterviewUrl, interviewTokenKey, linkExpiry, mintInterviewToken } from "./token.ts";
import type { Runtime } from "../runtime.ts";
import { validateRegisterUser, type ValidUser } from "../schemas.ts";

export interface RegistrationRequest {
  /** An interview_def_set or position_def_set id. */
  interviewId: string;
  merchantId: string | null;
  isTest: boolean;
  sendInvitation: boolean;
  hideMenu: boolean;
  hideIframe: boolean;
  /** The rows as sent; each is validated on its own. */
  users: unknown[];
  /** Email language and extra template data for invitations. */
  language?: string;
  emailPayload?: Record<string, string | null>;
  /**
   * micro1's invite, which has no per-row errors: a row that fails (invalid, or out of credits) fails
   * them all and nothing is written; the outcomes still say which rows failed and why.
   */
  allOrNothing?: boolean;
  /** Register this existing candidate profile again (a new link, the old one revoked) instead of `users`. */
  candidateId?: string;
  /** The integrator's reference, kept on each registration (micro1's job_application_id). */
  jobApplicationId?: string;
  /** The request's Idempotency-Key: a repeat is answered with the first request's outcomes. */
  idempotencyKey?: IdempotencyKey | null;
  /** The request's link_expires_at (ISO 8601), bounded by `linkExpiry`; absent: the default lifetime. */
  linkExpiresAt?: string | null;
  /**
   * Run the real call and roll it back (app.register_users_dry_run): the outcomes are the real call's, but
   * nothing was written, so their links and new ids name nothing. An Idempotency-Key is not used.
   */
  dryRun?: boolean;
}

export interface RegistrationOutcomes {
  /** One per input row, in input order. */
  outcomes: RowOutcome[];
  /** Whether these are the outcomes of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

export type RowOutcome =
  | {
    ok: true;
    profileId: string;
    profileInterviewId: string;
    interviewUrl: string;
    /** The address the registration is for (trimmed as stored). */
    email: string;
  }
  | { ok: false; error: string };

/** A row of app.register_users' result (supabase/schemas/registration/app.register_users.sql). */
type DatabaseRow =
  | { i: number; profile_id: string; profile_interview_id: string; jti: string }
  | { i: number; error: string };

/** When a request's links were issued and expire (seconds since the epoch). */
type LinkTimes = {
  issuedAt: number;
  expiresAt: number;
};

interface DatabaseResult {
  merchant_id: string;
  interview_id: string;
  interview_base_url: string | null;
  /** With candidateId: that candidate's email. */
  candidate_email: string | null;
  rows: DatabaseRow[];
}

/**
 * Registers candidates for an interview: validates each row, sends every
 * valid one to `app.register_users` in a single call (one transaction, one
 * round trip, under the request's deadline), then mints each registered
 * row's one-time token and URL. Returns one outcome per input row, in input
 * order.
 */
export function createRegistrar(runtime: Runtime) {
  const { config } = runtime;
  const tokenKey = interviewTokenKey(config.interviewTokenSecret);
  const once = createOnce(runtime);

  return async function registerUsers(
    caller: Caller,
    request: RegistrationRequest,
    deadline: number,
  ): Promise<RegistrationOutcomes> {
    const outcomes: (RowOutcome | undefined)[] = new Array(
      request.candidateId ? 1 : request.users.length,
    );
    const valid: (ValidUser & { i: number })[] = [];
    const seenEmails = new Set<string>();
    request.users.forEach((row, i) => {
      const verdict = validateRegisterUser(row);
      if ("error" in verdict) {
        outcomes[i] = { ok: false, error: verdict.error };
        return;
      }
      const key = verdict.user.email.toLowerCase();
      if (seenEmails.has(key)) {
        outcomes[i] = { ok: false, error: "Duplicate email in request" };
        return;
      }
      seenEmails.add(key);
      valid.push({ i, ...verdict.user });
    });

    const now = Math.floor(Date.now() / 1000);
    const exp = linkExpiry(config, request.linkExpiresAt, now);
    // Even with no valid row the call is made: it is what authorizes the
    // caller for the merchant and checks the interview, per request.
    const rows = request.allOrNothing && outcomes.some(Boolean) ? [] : valid;
    // A replay signs its links with the first request's times: the same claims, the same links.
    const { result, context: { issuedAt, expiresAt }, replayed } = await once<DatabaseResult, LinkTimes>(
      caller,
      request.merchantId,
      request.dryRun ? null : request.idempotencyKey ?? null,
      { issuedAt: now, expiresAt: exp },
      (sql) => {
        const args = sql`
        ${callerSql(sql, caller)},
        ${request.merchantId}::uuid,
        ${request.interviewId}::uuid,
        ${request.isTest},
        ${request.sendInvitation},
        ${request.hideMenu},
        ${request.hideIframe},
        to_timestamp(${now}::bigint),
        to_timestamp(${exp}::bigint),
        ${sql.json(rows)}::jsonb,
        ${request.language ?? "en"},
        ${sql.json(request.emailPayload ?? {})}::jsonb,
        p_all_or_nothing => ${request.allOrNothing ?? false},
        p_candidate_id => ${request.candidateId ?? null}::uuid,
        p_job_application_id => ${request.jobApplicationId ?? null}`;
        return request.dryRun ? sql`app.register_users_dry_run(${args})` : sql`app.register_users(${args})`;
      },
      deadline,
    );

    const key = await tokenKey;
    const baseUrl = result.interview_base_url ?? config.interviewBaseUrl;
    const emailOf = new Map(valid.map((user) => [user.i, user.email]));
    for (const row of result.rows) {
      if ("error" in row) {
        outcomes[row.i] = { ok: false, error: row.error };
        continue;
      }
      const token = mintInterviewToken(key, {
        jti: row.jti,
        sub: row.profile_id,
        iat: issuedAt,
        exp: expiresAt,
        profile_interview_id: row.profile_interview_id,
        interview_id: result.interview_id,
        merchant_id: result.merchant_id,
        is_test: request.isTest,
      });
      outcomes[row.i] = {
        ok: true,
        profileId: row.profile_id,
        profileInterviewId: row.profile_interview_id,
        interviewUrl: buildInterviewUrl(baseUrl, result.interview_id, token, {
          hideMenu: request.hideMenu,
          hideIframe: request.hideIframe,
        }),
        email: result.candidate_email ?? emailOf.get(row.i)!,
      };
    }
    return {
      outcomes: outcomes.map((outcome, i) => {
        if (!outcome) throw new Error(`app.register_users returned no outcome for row ${i}`);
        return outcome;
      }),
      replayed,
    };
  };
}
