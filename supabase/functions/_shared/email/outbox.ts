import type postgres from "postgres";
import type { ClaimedEmail } from "./message.ts";

/** The outbox's side of delivery: thin calls to the SQL functions that own its state machine. */

export interface Claim {
  claimId: string;
  /** Due messages cancelled instead of claimed: their link was used, revoked or expired. */
  cancelled: number;
  /** Abandoned messages that had had their last attempt. */
  failed: number;
  messages: ClaimedEmail[];
}

export async function claimEmails(
  sql: postgres.Sql,
  limit: number,
  leaseSeconds: number,
  maxAttempts: number,
): Promise<Claim> {
  const [{ claim }] = await sql<
    { claim: { claim_id: string; cancelled: number; failed: number; messages: ClaimedEmail[] } }[]
  >`select app.claim_emails(${limit}::int, ${Math.ceil(leaseSeconds)}::int, ${maxAttempts}::int) as claim`;
  return {
    claimId: claim.claim_id,
    cancelled: claim.cancelled,
    failed: claim.failed,
    messages: claim.messages,
  };
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
