/** Claims outbox rows as app.claim_emails would (status 'sending' under a claim id) and runs app.check_emails. */
import type postgres from "postgres";
import type { MerchantFixture } from "../../_support/fixtures.ts";
import { registerBatch } from "../_register_batch.ts";

export interface Checked {
  id: string;
  cancelled: boolean;
  link: { jti: string; profile_interview_id: string } & Record<string, unknown> | null;
}

/** Claims exactly these rows (app.claim_emails would claim every due row of the database). */
export async function claim(tx: postgres.TransactionSql, ids: string[]): Promise<string> {
  const claimId = crypto.randomUUID();
  await tx`update email_outbox set status = 'sending', claim_id = ${claimId},
      lease_expires_at = now() + interval '1 minute', attempts = attempts + 1
    where id = any (${ids}::uuid[])`;
  return claimId;
}

/** Plain objects, for deepEqual. */
export async function checkEmails(
  tx: postgres.TransactionSql,
  ids: string[],
  claimId: string,
): Promise<Checked[]> {
  const rows = await tx<Checked[]>`
    select id, cancelled, link from app.check_emails(${ids}::uuid[], ${claimId}) order by id`;
  return Array.from(rows, (row) => ({ ...row }));
}

/** Registers `email` with an invitation (as register-users does), returning the invitation's outbox row. */
export async function invited(
  tx: postgres.TransactionSql,
  fixture: Pick<MerchantFixture, "merchantId" | "interviewId">,
  email: string,
  sendInvitation = true,
): Promise<{ outboxId: string | null; registrationId: string; jti: string }> {
  const [row] = await registerBatch(tx, fixture, [{ email }], { sendInvitation });
  if (!("jti" in row)) throw new Error(`not registered: ${JSON.stringify(row)}`);
  const [outbox] = await tx<{ id: string }[]>`select id from email_outbox
    where profile_interview_id = ${row.profile_interview_id} and kind = 'invitation' and status = 'pending'
      and payload ->> 'jti' = ${row.jti}`;
  return { outboxId: outbox?.id ?? null, registrationId: row.profile_interview_id, jti: row.jti };
}

/** The row as the check left it. */
export async function outboxRow(tx: postgres.TransactionSql, id: string) {
  const [row] = await tx<
    { status: string; last_error: string | null; attempts: number; claim_id: string | null }[]
  >`
    select status, last_error, attempts, claim_id from email_outbox where id = ${id}`;
  return { ...row };
}
