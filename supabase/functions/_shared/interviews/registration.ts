import postgres from "postgres";
import { type Caller, callerSql } from "../auth.ts";
import { createCoalescer } from "../coalescer.ts";
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

/** Everything a registration call takes besides its rows: requests that agree on it can share one call. */
interface CallShape {
  caller: Caller;
  merchantId: string | null;
  interviewId: string;
  isTest: boolean;
  sendInvitation: boolean;
  hideMenu: boolean;
  hideIframe: boolean;
  language: string;
  emailPayload: Record<string, string | null>;
  allOrNothing: boolean;
  candidateId: string | null;
  jobApplicationId: string | null;
  /** When the links are issued and expire, seconds since the epoch. */
  times: LinkTimes;
}

type ValidRow = ValidUser & { i: number };

/** A call's answer as one request sees it: its own rows, numbered as it sent them. */
type Answer = { result: DatabaseResult; context: LinkTimes; replayed: boolean };

/**
 * Calls of one registration shape that run at once. One is enough to keep a merchant's hot row busy
 * (every call of a key spends the same merchant's credits, and waits for the one before it to commit);
 * the second is sent while the first commits, so the database is not idle between them.
 */
const COALESCED_IN_FLIGHT = 2;

/** A request of more rows is a batch already: it gains nothing from company, and waits for none. */
const COALESCED_MAX_ROWS_PER_REQUEST = 100;

function callerKey(caller: Caller): string {
  if (caller.kind === "user") return `user:${caller.userId}`;
  if (caller.kind === "apiKey") return `key:${caller.keyDigest}`;
  return "service";
}

/**
 * Registers candidates for an interview: validates each row, sends every
 * valid one to `app.register_users` in a single call (one transaction, one
 * round trip, under the request's deadline), then mints each registered
 * row's one-time token and URL. Returns one outcome per input row, in input
 * order.
 *
 * Concurrent requests of the same shape (caller, merchant, interview, options, link times) share one
 * call (coalescer.ts), each with its own rows: what app.register_users does for one request's rows it
 * does for theirs, the credits spent in arrival order. A request with an Idempotency-Key, a dry run,
 * micro1's all-or-nothing, a re-invitation by candidate or a job application id runs alone (those apply
 * to a whole call), and so does a request of more than COALESCED_MAX_ROWS_PER_REQUEST rows.
 */
export function createRegistrar(runtime: Runtime) {
  const { config } = runtime;
  const tokenKey = interviewTokenKey(config.interviewTokenSecret);
  const once = createOnce(runtime);

  /** One app.register_users call (or its dry run) for `rows`, at most once per Idempotency-Key. */
  function call(
    shape: CallShape,
    rows: ValidRow[],
    idempotencyKey: IdempotencyKey | null,
    dryRun: boolean,
    deadline: number,
  ): Promise<Answer> {
    // A replay signs its links with the first request's times: the same claims, the same links.
    return once<DatabaseResult, LinkTimes>(
      shape.caller,
      shape.merchantId,
      idempotencyKey,
      shape.times,
      (sql) => {
        const args = sql`
        ${callerSql(sql, shape.caller)},
        ${shape.merchantId}::uuid,
        ${shape.interviewId}::uuid,
        ${shape.isTest},
        ${shape.sendInvitation},
        ${shape.hideMenu},
        ${shape.hideIframe},
        to_timestamp(${shape.times.issuedAt}::bigint),
        to_timestamp(${shape.times.expiresAt}::bigint),
        ${sql.json(rows)}::jsonb,
        ${shape.language},
        ${sql.json(shape.emailPayload)}::jsonb,
        p_all_or_nothing => ${shape.allOrNothing},
        p_candidate_id => ${shape.candidateId}::uuid,
        p_job_application_id => ${shape.jobApplicationId}`;
        return dryRun ? sql`app.register_users_dry_run(${args})` : sql`app.register_users(${args})`;
      },
      deadline,
    );
  }

  const coalesce = createCoalescer<CallShape, ValidRow, Answer>({
    maxInFlight: COALESCED_IN_FLIGHT,
    maxRows: config.maxUsersPerRequest,
    // The database refused the call and rolled it back. Its own refusals (JM4xx: the caller, the merchant,
    // the interview) are the shape's, so every member's; anything else may be one member's rows.
    separable: (err) => err instanceof postgres.PostgresError && !err.code.startsWith("JM4"),
    async run(shape, members, deadline) {
      // The members' rows numbered in one sequence, so the result's rows say whose they are.
      const rows = members.flatMap((member) => member.rows).map((row, n) => ({ ...row, i: n }));
      const answer = await call(shape, rows, null, false, deadline);
      const byNumber = new Map(answer.result.rows.map((row) => [row.i, row]));
      let next = 0;
      return members.map((member) => ({
        ...answer,
        result: {
          ...answer.result,
          rows: member.rows.map((row) => {
            const outcome = byNumber.get(next++);
            if (!outcome) throw new Error(`app.register_users returned no outcome for row ${next - 1}`);
            return { ...outcome, i: row.i };
          }),
        },
      }));
    },
  });

  return async function registerUsers(
    caller: Caller,
    request: RegistrationRequest,
    deadline: number,
  ): Promise<RegistrationOutcomes> {
    const outcomes: (RowOutcome | undefined)[] = new Array(
      request.candidateId ? 1 : request.users.length,
    );
    const valid: ValidRow[] = [];
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
    const shape: CallShape = {
      caller,
      merchantId: request.merchantId,
      interviewId: request.interviewId,
      isTest: request.isTest,
      sendInvitation: request.sendInvitation,
      hideMenu: request.hideMenu,
      hideIframe: request.hideIframe,
      language: request.language ?? "en",
      emailPayload: request.emailPayload ?? {},
      allOrNothing: request.allOrNothing ?? false,
      candidateId: request.candidateId ?? null,
      jobApplicationId: request.jobApplicationId ?? null,
      times: { issuedAt: now, expiresAt: linkExpiry(config, request.linkExpiresAt, now) },
    };
    // Even with no valid row the call is made: it is what authorizes the
    // caller for the merchant and checks the interview, per request.
    const rows = shape.allOrNothing && outcomes.some(Boolean) ? [] : valid;
    const idempotencyKey = request.dryRun ? null : request.idempotencyKey ?? null;
    const alone = idempotencyKey !== null || request.dryRun || shape.allOrNothing ||
      shape.candidateId !== null || shape.jobApplicationId !== null ||
      rows.length > COALESCED_MAX_ROWS_PER_REQUEST;
    const { result, context: { issuedAt, expiresAt }, replayed } = alone
      ? await call(shape, rows, idempotencyKey, request.dryRun ?? false, deadline)
      : await coalesce(
        JSON.stringify([
          callerKey(caller),
          shape.merchantId,
          shape.interviewId,
          shape.isTest,
          shape.sendInvitation,
          shape.hideMenu,
          shape.hideIframe,
          shape.language,
          shape.emailPayload,
          shape.times,
        ]),
        shape,
        { rows, deadline },
        rows.map((row) => row.email.toLowerCase()),
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
