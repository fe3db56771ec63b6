/** Calls app.register_batch directly, as app.register_users does once it has the merchant's row and interview. */
import type postgres from "postgres";
import type { MerchantFixture } from "../_support/fixtures.ts";

export interface BatchOptions {
  isTest?: boolean;
  sendInvitation?: boolean;
  skipInvited?: boolean;
  /** null: the optimistic pass (JMCRD when the merchant cannot pay); a number: the pass run alone. */
  creditBudget?: number | null;
}

export type BatchRow =
  | { i: number; profile_id: string; profile_interview_id: string; jti: string }
  | { i: number; profile_id: string; profile_interview_id: string; skipped: true }
  | { i: number; error: string };

export function registerBatch(
  tx: postgres.TransactionSql,
  fixture: Pick<MerchantFixture, "merchantId" | "interviewId">,
  users: { email: string; name?: string; external_id?: string }[],
  options: BatchOptions = {},
): Promise<BatchRow[]> {
  const rows = users.map((user, i) => ({ i, ...user }));
  return tx<{ rows: BatchRow[] }[]>`
    select app.register_batch(
      (select m from public.merchants m where m.id = ${fixture.merchantId}),
      ${fixture.interviewId}, null, 'Fixture interview', ${options.isTest ?? false},
      ${options.sendInvitation ?? false}, false, false, now(), now() + interval '1 hour',
      ${tx.json(rows)}, 'en', '{}'::jsonb, ${options.skipInvited ?? false}, ${options.creditBudget ?? null}
    ) as rows`.then(([{ rows }]) => rows);
}

/** The registration's tokens, oldest first. */
export function tokensOf(tx: postgres.TransactionSql, registrationId: string) {
  return tx<{ jti: string; revoked_at: Date | null; redeemed_at: Date | null }[]>`
    select jti, revoked_at, redeemed_at from interview_tokens where profile_interview_id = ${registrationId}
    order by issued_at, revoked_at nulls last`;
}
