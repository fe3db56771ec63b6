/**
 * What the invite-users tests share: the seeded ids they use, and per test file the API with a mail catcher
 * (fileEmailEnv) with helpers that read what a request left in the database and in the mailbox.
 */
import type { CaughtMessage } from "../../scripts/mail_catcher.ts";
import { messagesTo } from "../_support/email.ts";
import { callFunction } from "../_support/http.ts";
import { fileEmailEnv } from "../_support/suite.ts";

// Seeded for invite-users (supabase/seed.sql, README "Seed data").
export const GLOBEX_COACH = "b0000000-0000-4000-8000-000000000010";
export const GLOBEX_RECRUITER = "b0000000-0000-4000-8000-000000000011";
export const PENDING_INVITATION = "e0000000-0000-4000-8000-000000000001";
export const FN = "invite-users";
// deno-lint-ignore no-explicit-any
export type Row = Record<string, any>;

export async function inviteUsersSuite() {
  const env = await fileEmailEnv();
  const { sql, server } = env;

  const invite = (token: string, body: unknown) =>
    callFunction<Row[]>(server.functionsUrl, FN, { token, body });

  /** Delivers every queued email through the real dispatcher and SMTP server; returns what reached `address`. */
  async function deliveredTo(address: string): Promise<CaughtMessage[]> {
    await env.dispatchOnce();
    return messagesTo(env.catcher.messages(), address);
  }

  /** An account with no membership anywhere: a person who signed up but belongs to no merchant yet. */
  async function createAccount(email: string, name = "Ada Account"): Promise<string> {
    const id = crypto.randomUUID();
    await sql`insert into accounts (id, email, full_name) values (${id}, ${email}, ${name})`;
    return id;
  }

  async function roleAt(accountId: string, merchantId: string): Promise<string | undefined> {
    const [row] =
      await sql`select role from merchant_members where account_id = ${accountId} and merchant_id = ${merchantId}`;
    return row?.role;
  }

  async function openInvitation(merchantId: string, email: string) {
    const [row] = await sql`
      select i.id, i.role, i.name, i.invited_by,
        (select count(*)::int from invitation_tokens t where t.invitation_id = i.id) as links,
        (select count(*)::int from invitation_tokens t
          where t.invitation_id = i.id and t.redeemed_at is null and t.revoked_at is null) as live_links
      from merchant_invitations i
      where i.merchant_id = ${merchantId} and i.email_key = lower(${email})
        and i.accepted_at is null and i.revoked_at is null`;
    return row;
  }

  const outboxTo = (email: string) =>
    sql`select kind, status, language, to_name, payload from email_outbox where lower(to_email) = lower(${email}) order by created_at`;

  return { env, sql, server, invite, deliveredTo, createAccount, roleAt, openInvitation, outboxTo };
}
