import type postgres from "postgres";
import type { InterviewTokenClaims } from "../interviews/token.ts";
import type { JobOutcome, RecordedStatus } from "../jobs/queue.ts";
import type { Branding } from "./templates.ts";

/**
 * The outbox's side of delivery: thin calls to the SQL functions that own its state machine
 * (supabase/schemas/email/), and the rows they return.
 */

/** A message as `app.claim_emails` hands it out. */
export interface ClaimedEmail {
  id: string;
  kind: string;
  /** Attempts so far, this one included. */
  attempts: number;
  to_email: string;
  to_name: string | null;
  language: string;
  /** What the row was queued with: template data such as interview_name or message_from_recruiter. */
  payload: Record<string, unknown>;
  merchant: {
    name: string;
    email_from_name: string | null;
    email_reply_to: string | null;
    interview_base_url: string | null;
    /** The merchant's logo, colour and, for invitations, its subject and opening paragraph in this language. */
    branding: Branding;
  };
}

/** The registration's live interview link: its token's claims and the URL's flags. */
export type InterviewLink = InterviewTokenClaims & { hide_menu: boolean; hide_iframe: boolean };

/** A claimed message that `app.check_emails` cleared to go out now. */
export interface OutgoingEmail extends ClaimedEmail {
  /** For invitations and reminders: the link live at the check, the one the message carries. */
  link: InterviewLink | null;
}

export interface Claim {
  claimId: string;
  /** Abandoned messages that had had their last attempt. */
  failed: number;
  /** Oldest due first. */
  messages: ClaimedEmail[];
}

export async function claimEmails(
  sql: postgres.Sql,
  limit: number,
  leaseSeconds: number,
  maxAttempts: number,
): Promise<Claim> {
  const [{ claim }] = await sql<{ claim: { claim_id: string; failed: number; messages: ClaimedEmail[] } }[]>`
    select app.claim_emails(${limit}::int, ${Math.ceil(leaseSeconds)}::int, ${maxAttempts}::int) as claim`;
  return { claimId: claim.claim_id, failed: claim.failed, messages: claim.messages };
}

export interface Check {
  /** The messages to send now, each with the link it carries (null for kinds without one). */
  cleared: Map<string, InterviewLink | null>;
  /**
   * Messages cancelled instead: registration or interview closed, interview started, link used, revoked
   * or expired, invitation superseded.
   */
  cancelled: number;
}

/** Checks claimed messages right before they are sent (app.check_emails). */
export async function checkEmails(sql: postgres.Sql, ids: string[], claimId: string): Promise<Check> {
  const rows = await sql<{ id: string; cancelled: boolean; link: InterviewLink | null }[]>`
    select id, cancelled, link from app.check_emails(${ids}::uuid[], ${claimId}::uuid)`;
  const check: Check = { cleared: new Map(), cancelled: 0 };
  for (const row of rows) {
    if (row.cancelled) check.cancelled++;
    else check.cleared.set(row.id, row.link);
  }
  return check;
}

/**
 * Records outcomes of one claim in one statement: sent messages (app.record_email_sent, which also
 * schedules an invitation's reminders) and failed attempts (app.record_email_failure: due again after
 * their retry delay, or failed for good). The result has each message's new status, and no entry for a
 * message the claim had lost (its lease ran out and another dispatcher took it over).
 */
export async function recordEmailOutcomes(
  sql: postgres.Sql,
  claimId: string,
  outcomes: JobOutcome[],
  reminderOffsetsSeconds: number[],
): Promise<Map<string, RecordedStatus>> {
  const sent = outcomes.filter((o) => o.ok).map((o) => o.id);
  const failures = outcomes.filter((o) => !o.ok);
  const sentPart = sent.length === 0 ? sql`'{}'::uuid[]` : sql`app.record_email_sent(
    ${sent}::uuid[], ${claimId}::uuid, ${reminderOffsetsSeconds}::int[])`;
  const failedPart = failures.length === 0 ? sql`'{}'::jsonb` : sql`(
    select coalesce(jsonb_object_agg(f.id, f.status), '{}') from app.record_email_failure(
      ${failures.map((f) => f.id)}::uuid[], ${claimId}::uuid,
      ${failures.map((f) => f.ok ? "" : f.error)}::text[],
      ${failures.map((f) => f.retryAfterSeconds)}::double precision[]
    ) f)`;
  const [row] = await sql<{ sent: string[]; failed: Record<string, "pending" | "failed"> }[]>`
    select ${sentPart} as sent, ${failedPart} as failed`;
  const recorded = new Map<string, RecordedStatus>(row.sent.map((id) => [id, "sent"]));
  for (const [id, status] of Object.entries(row.failed)) recorded.set(id, status);
  return recorded;
}

export async function releaseEmails(sql: postgres.Sql, ids: string[], claimId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const [{ released }] = await sql<{ released: number }[]>`
    select app.release_emails(${ids}::uuid[], ${claimId}::uuid) as released`;
  return released;
}
