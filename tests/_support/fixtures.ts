/**
 * Isolated data per test: each test makes its own merchant, staff and
 * interviews with fresh ids, so tests never depend on each other's writes.
 */
import type postgres from "postgres";

/** A pool, or a test's transaction (tests/_support/suite.ts, withTransaction): fixtures run on either. */
export type Db = postgres.Sql | postgres.TransactionSql;

export interface MerchantFixture {
  merchantId: string;
  ownerId: string;
  interviewId: string;
}

/** One statement, so that it works on a pool and inside a test's transaction alike. */
export async function createMerchant(
  sql: Db,
  options: { credits?: number; parentId?: string | null; baseUrl?: string | null } = {},
): Promise<MerchantFixture> {
  const merchantId = crypto.randomUUID();
  const ownerId = crypto.randomUUID();
  const interviewId = crypto.randomUUID();
  await sql`
    with merchant as (
      insert into merchants (id, name, parent_merchant_id, interview_credits, interview_base_url)
      values (${merchantId}, ${"Fixture " + merchantId.slice(0, 8)}, ${options.parentId ?? null},
              ${options.credits ?? 1000}, ${options.baseUrl ?? null})
      returning id
    ),
    owner as (
      insert into accounts (id, email, home_merchant_id)
      select ${ownerId}, ${`owner-${ownerId}@fixture.example`}, id from merchant
      returning id
    ),
    membership as (
      insert into merchant_members (account_id, merchant_id, role)
      select owner.id, merchant.id, 'merchant_owner' from owner, merchant
    )
    insert into interviews (id, merchant_id, name, status)
    select ${interviewId}, id, 'Fixture interview', 'active' from merchant`;
  return { merchantId, ownerId, interviewId };
}

export async function createInterview(
  sql: Db,
  merchantId: string,
  options: { status?: string; availableTill?: Date | null } = {},
): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    insert into interviews (merchant_id, name, status, interview_available_till)
    values (${merchantId}, 'Fixture interview', ${options.status ?? "active"}, ${
    options.availableTill ?? null
  })
    returning id`;
  return id;
}

/** A position (position_def_set) of the merchant pointing at `interviewId`. */
export async function createPosition(
  sql: Db,
  merchantId: string,
  interviewId: string,
): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    insert into positions (merchant_id, name, interview_id) values (${merchantId}, 'Fixture position', ${interviewId})
    returning id`;
  return id;
}

export async function createStaff(sql: Db, merchantId: string, role: string): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into accounts (id, email, home_merchant_id) values (${id}, ${`${role}-${id}@fixture.example`}, ${merchantId})`;
  await sql`insert into merchant_members (account_id, merchant_id, role) values (${id}, ${merchantId}, ${role})`;
  return id;
}

export async function credits(sql: Db, merchantId: string): Promise<number> {
  const [{ interview_credits }] = await sql<{ interview_credits: number }[]>`
    select interview_credits from merchants where id = ${merchantId}`;
  return interview_credits;
}

/** Everything the database holds for a merchant's candidates, for before/after comparisons. */
export async function merchantFootprint(sql: Db, merchantId: string) {
  const [row] = await sql<{ profiles: number; registrations: number; tokens: number; emails: number }[]>`
    select
      (select count(*)::int from candidate_profiles where merchant_id = ${merchantId}) as profiles,
      (select count(*)::int from profile_interviews where merchant_id = ${merchantId}) as registrations,
      (select count(*)::int from interview_tokens t join profile_interviews pi on pi.id = t.profile_interview_id
        where pi.merchant_id = ${merchantId}) as tokens,
      (select count(*)::int from email_outbox where merchant_id = ${merchantId}) as emails`;
  return { ...row, credits: await credits(sql, merchantId) };
}
