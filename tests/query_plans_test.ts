/**
 * The plans PostgreSQL caches for register-users' and invite-users' statements stay index-driven as the
 * tables grow. PL/pgSQL caches generic plans (app.register_batch only ever uses them: a migration sets its
 * plan_cache_mode), planned for 100 input rows whatever the request holds, and set-returning functions
 * are estimated at 100 rows even in a plan made for one call: a plan that hashes a whole table is fine for
 * 1,000 rows and ruinous for one. These tests read the plans back through auto_explain.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { createMerchant, type MerchantFixture } from "./_support/fixtures.ts";

/** A connection of its own, and the plans of its statements (nested ones too) once `explain()` was called. */
function explainingConnection() {
  const plans: string[] = [];
  const sql = postgres(loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl, {
    max: 1,
    onnotice: (notice) => plans.push(notice.message),
  });
  async function explain() {
    await sql`load 'auto_explain'`;
    await sql`set auto_explain.log_min_duration = 0`;
    await sql`set auto_explain.log_nested_statements = on`;
    await sql`set auto_explain.log_level = notice`;
  }
  return { sql, plans, explain };
}

/** One candidate registered through app.register_users, as register-users calls it. */
async function registerOne(sql: postgres.Sql, fixture: MerchantFixture, email: string) {
  const [{ result }] = await sql<{ result: { rows: { error?: string }[] } }[]>`
    select app.register_users(
      ${fixture.ownerId}::uuid, null, ${fixture.interviewId}::uuid, false, false, false, false,
      now(), now() + interval '1 day', ${sql.json([{ i: 0, email }])}::jsonb
    ) as result`;
  assert.equal(result.rows[0].error, undefined);
}

Deno.test(
  "a single-user registration probes indexes, not every candidate profile and registration",
  async () => {
    const { sql, plans, explain } = explainingConnection();
    try {
      const fixture = await createMerchant(sql);
      // Enough profiles and registrations that hashing them all costs more than a probe per batch row.
      await sql`
        insert into candidate_profiles (merchant_id, email)
        select ${fixture.merchantId}, 'plan-' || n || '@plans.example' from generate_series(1, 5000) n`;
      await sql`
        insert into profile_interviews (merchant_id, profile_id, interview_id, is_test, credit_spent)
        select merchant_id, id, ${fixture.interviewId}, false, true from candidate_profiles
        where merchant_id = ${fixture.merchantId}`;
      await sql`analyze candidate_profiles`;
      await sql`analyze profile_interviews`;

      await explain();
      await registerOne(sql, fixture, "plan-17@plans.example");

      const batchPlan = plans.find((plan) => plan.includes("insert into public.candidate_profiles"));
      assert.ok(batchPlan, `no plan of the batch statement among ${plans.length} notices`);
      for (const table of ["candidate_profiles", "profile_interviews"]) {
        assert.doesNotMatch(batchPlan, new RegExp(`Seq Scan on ${table}`));
        assert.match(batchPlan, new RegExp(`Index (Only )?Scan using \\S+ on ${table}`));
      }
      // The candidate was registered already: the reuse revokes their live link. Named by an index
      // condition, not found by walking every live token (which a plan made on small tables did).
      const revokePlan = plans.find((plan) =>
        plan.includes("update public.interview_tokens t set revoked_at")
      );
      assert.ok(revokePlan, "no plan of the revoking statement");
      assert.match(revokePlan, /Index Cond: \(profile_interview_id = ANY/);
    } finally {
      await sql.end();
    }
  },
);

Deno.test("the batch's statements are planned once per connection, not on every call", async () => {
  const { sql, plans, explain } = explainingConnection();
  try {
    const fixture = await createMerchant(sql);
    await explain();
    await registerOne(sql, fixture, "planned-once@plans.example");
    const lockPlan = plans.find((plan) => plan.includes("with locked as materialized"));
    assert.ok(lockPlan, `no plan of the locking statement among ${plans.length} notices`);
    // A plan made for one call has that call's values in it; a generic one has parameters.
    assert.ok(!lockPlan.includes(fixture.interviewId), lockPlan);
    assert.match(lockPlan, /interview_id = \$\d+/);
  } finally {
    await sql.end();
  }
});

Deno.test("inviting one person probes indexes, not every open invitation of the merchant", async () => {
  const { sql, plans, explain } = explainingConnection();
  try {
    const fixture = await createMerchant(sql);
    await sql`
      insert into merchant_invitations (merchant_id, email, role, invited_by)
      select ${fixture.merchantId}, 'invited-' || n || '@plans.example', 'user', ${fixture.ownerId}
      from generate_series(1, 5000) n`;
    await sql`analyze merchant_invitations`;

    await explain();
    const [{ result }] = await sql<{ result: { rows: { result?: string }[] } }[]>`
      select app.invite_members(
        ${fixture.ownerId}::uuid, null, false, now(), now() + interval '7 days',
        ${sql.json([{ i: 0, email: "one-more@plans.example", role: "user" }])}::jsonb, 'en', '{}'::jsonb
      ) as result`;
    assert.equal(result.rows[0].result, "Invited");

    const lookupPlan = plans.find((plan) => plan.includes("current_state as ("));
    assert.ok(lookupPlan, `no plan of the lookup among ${plans.length} notices`);
    assert.doesNotMatch(lookupPlan, /Seq Scan on merchant_invitations/);
    assert.match(lookupPlan, /Index Scan using merchant_invitations_one_open_idx on merchant_invitations/);
  } finally {
    await sql.end();
  }
});
