import type postgres from "postgres";
import type { InterviewTokenClaims } from "../interviews/token.ts";
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

/** False when the claim had lost the row (its lease ran out and another dispatcher took it). */
export async function recordSent(
  sql: postgres.Sql,
  id: string,
  claimId: string,
  reminderOffsetsSeconds: number[],
): Promise<boolean> {
  const [{ recorded }] = await sql<{ recorded: boolean }[]>`
    select app.record_email_sent(${id}::uuid, ${claimId}::uuid, ${reminderOffsetsSeconds}::int[]) as recorded`;
  return recorded;
}

/** The row's new status ('pending' again, or 'failed'), or null when the claim had lost the row. */
export async function recordFailure(
  sql: postgres.Sql,
  id: string,
  claimId: string,
  error: string,
  retryAfterSeconds: number | null,
): Promise<"pending" | "failed" | null> {
  const [{ status }] = await sql<{ status: "pending" | "failed" | null }[]>`
    select app.record_email_failure(
      ${id}::uuid, ${claimId}::uuid, ${error}, ${retryAfterSeconds}::double precision
    ) as status`;
  return status;
}

export async function releaseEmails(sql: postgres.Sql, ids: string[], claimId: string): Promise<number> {
  if (ids.length === 0) return 0;
  const [{ released }] = await sql<{ released: number }[]>`
    select app.release_emails(${ids}::uuid[], ${claimId}::uuid) as released`;
  return released;
}
