/**
 * Isolated data per test: each test makes its own merchant, staff and
 * interviews with fresh ids, so tests never depend on each other's writes.
 */
import type postgres from "postgres";

export interface MerchantFixture {
  merchantId: string;
  ownerId: string;
  interviewId: string;
}

export async function createMerchant(
  sql: postgres.Sql,
  options: { credits?: number; parentId?: string | null; baseUrl?: string | null } = {},
): Promise<MerchantFixture> {
  const merchantId = crypto.randomUUID();
  const ownerId = crypto.randomUUID();
  const interviewId = crypto.randomUUID();
  await sql.begin(async (tx) => {
    await tx`insert into merchants (id, name, parent_merchant_id, interview_credits, interview_base_url)
      values (${merchantId}, ${"Fixture " + merchantId.slice(0, 8)}, ${options.parentId ?? null},
              ${options.credits ?? 1000}, ${options.baseUrl ?? null})`;
    await tx`insert into accounts (id, email, home_merchant_id)
      values (${ownerId}, ${`owner-${ownerId}@fixture.example`}, ${merchantId})`;
    await tx`insert into merchant_members (account_id, merchant_id, role) values (${ownerId}, ${merchantId}, 'merchant_owner')`;
    await tx`insert into interviews (id, merchant_id, name, status) values (${interviewId}, ${merchantId}, 'Fixture interview', 'active')`;
  });
  return { merchantId, ownerId, interviewId };
}

export async function createInterview(
  sql: postgres.Sql,
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
  sql: postgres.Sql,
  merchantId: string,
  interviewId: string,
): Promise<string> {
  const [{ id }] = await sql<{ id: string }[]>`
    insert into positions (merchant_id, name, interview_id) values (${merchantId}, 'Fixture position', ${interviewId})
    returning id`;
  return id;
}

export async function createStaff(sql: postgres.Sql, merchantId: string, role: string): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into accounts (id, email, home_merchant_id) values (${id}, ${`${role}-${id}@fixture.example`}, ${merchantId})`;
  await sql`insert into merchant_members (account_id, merchant_id, role) values (${id}, ${merchantId}, ${role})`;
  return id;
}

export async function credits(sql: postgres.Sql, merchantId: string): Promise<number> {
  const [{ interview_credits }] = await sql<{ interview_credits: number }[]>`
    select interview_credits from merchants where id = ${merchantId}`;
  return interview_credits;
}

/** Everything the database holds for a merchant's candidates, for before/after comparisons. */
export async function merchantFootprint(sql: postgres.Sql, merchantId: string) {
  const [row] = await sql<{ profiles: number; registrations: number; tokens: number; emails: number }[]>`
    select
      (select count(*)::int from candidate_profiles where merchant_id = ${merchantId}) as profiles,
      (select count(*)::int from profile_interviews where merchant_id = ${merchantId}) as registrations,
      (select count(*)::int from interview_tokens t join profile_interviews pi on pi.id = t.profile_interview_id
        where pi.merchant_id = ${merchantId}) as tokens,
      (select count(*)::int from email_outbox where merchant_id = ${merchantId}) as emails`;
  return { ...row, credits: await credits(sql, merchantId) };
}
