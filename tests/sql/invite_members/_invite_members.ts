/** Calls app.invite_members directly, as invite-users does for its team and coaching rows. */
import assert from "node:assert/strict";
import type postgres from "postgres";

export type InviteRow =
  | { i: number; result: string; profile_id: string | null; invitation_id: string | null }
  | { i: number; error: string };

/** `caller` is the inviter's account id, or null for the service key. */
export async function inviteMembers(
  tx: postgres.TransactionSql,
  caller: string | null,
  merchantId: string,
  users: { email: string; name?: string; role: string }[],
  options: { force?: boolean } = {},
): Promise<InviteRow[]> {
  const rows = users.map((user, i) => ({ i, ...user }));
  const [{ result }] = await tx<{ result: { merchant_id: string; rows: InviteRow[] } }[]>`
    select app.invite_members(
      ${caller}, ${merchantId}, ${options.force ?? false}, now(), now() + interval '7 days',
      ${tx.json(rows)}, 'en', '{}'::jsonb
    ) as result`;
  assert.equal(result.merchant_id, merchantId);
  return result.rows;
}

/** The merchant's open invitation for `email` and its live links. */
export async function openInvitation(tx: postgres.TransactionSql, merchantId: string, email: string) {
  const [invitation] = await tx<{ id: string; role: string; invited_by: string | null }[]>`
    select id, role, invited_by from merchant_invitations
    where merchant_id = ${merchantId} and email_key = lower(${email}) and accepted_at is null and revoked_at is null`;
  if (!invitation) return null;
  const links = await tx<{ jti: string }[]>`select jti from invitation_tokens
    where invitation_id = ${invitation.id} and redeemed_at is null and revoked_at is null`;
  const emails = await tx<
    { status: string; jti: string }[]
  >`select status, payload ->> 'jti' as jti from email_outbox
    where invitation_id = ${invitation.id} order by created_at, status`;
  return { ...invitation, links: links.map((l) => l.jti), emails: emails.map((e) => ({ ...e })) };
}

export async function roleOf(tx: postgres.TransactionSql, accountId: string, merchantId: string) {
  const [row] = await tx<{ role: string }[]>`select role from merchant_members
    where account_id = ${accountId} and merchant_id = ${merchantId}`;
  return row?.role ?? null;
}
