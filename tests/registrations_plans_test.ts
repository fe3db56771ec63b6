/**
 * The registration list's filters are index probes, not scans of the merchant's registrations: with 5,000
 * registrations, a list by email, external_id, job_application_id, interview or position reads its few rows
 * through an index. The plans are read back through auto_explain, as tests/query_plans_test.ts does.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { createInterview, createMerchant, createPosition } from "./_support/fixtures.ts";

Deno.test("each filter of app.list_registrations reads through an index", async () => {
  const plans: string[] = [];
  const sql = postgres(loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl, {
    max: 1,
    onnotice: (notice) => plans.push(notice.message),
  });
  try {
    const fixture = await createMerchant(sql);
    const small = await createInterview(sql, fixture.merchantId);
    const positionId = await createPosition(sql, fixture.merchantId, small);
    await sql`
      insert into candidate_profiles (merchant_id, email, external_id)
      select ${fixture.merchantId}, 'list-' || n || '@plans.example', 'ext-' || n from generate_series(1, 5000) n`;
    await sql`
      insert into profile_interviews (merchant_id, profile_id, interview_id, position_id, is_test, credit_spent,
        job_application_id)
      select merchant_id, id,
        case when email = 'list-9@plans.example' then ${small}::uuid else ${fixture.interviewId}::uuid end,
        case when email = 'list-9@plans.example' then ${positionId}::uuid end,
        false, true, 'job-' || split_part(email, '@', 1)
      from candidate_profiles where merchant_id = ${fixture.merchantId}`;
    await sql`analyze candidate_profiles`;
    await sql`analyze profile_interviews`;
    await sql`load 'auto_explain'`;
    await sql`set auto_explain.log_min_duration = 0`;
    await sql`set auto_explain.log_nested_statements = on`;
    await sql`set auto_explain.log_level = notice`;

    const filters: [string, Record<string, string>][] = [
      ["email", { p_email: "list-17@plans.example" }],
      ["external_id", { p_external_id: "ext-17" }],
      ["job_application_id", { p_job_application_id: "job-list-17" }],
      ["interview", { p_interview_id: small }],
      ["position", { p_position_id: positionId }],
    ];
    for (const [name, filter] of filters) {
      plans.length = 0;
      const [{ result }] = await sql`select app.list_registrations(
        ${fixture.ownerId}::uuid, null,
        ${filter.p_interview_id ?? null}::uuid, ${filter.p_position_id ?? null}::uuid,
        ${filter.p_external_id ?? null}, ${filter.p_email ?? null}, ${filter.p_job_application_id ?? null},
        null, null, null, 50, 0) as result`;
      assert.equal(result.pagination.total, 1, name);
      const plan = plans.find((p) => p.includes("from public.profile_interviews pi"));
      assert.ok(plan, `${name}: no plan of the list's statement among ${plans.length} notices`);
      assert.doesNotMatch(plan, /Seq Scan on (profile_interviews|candidate_profiles)/, `${name}:\n${plan}`);
      assert.match(plan, /Index (Only )?Scan using \w+ on (profile_interviews|candidate_profiles)/, plan);
    }

    // And the test can fail: without a filter, the merchant's registrations are all read.
    plans.length = 0;
    await sql`select app.list_registrations(${fixture.ownerId}::uuid, null, null, null, null, null, null,
      null, null, null, 50, 0)`;
    const all = plans.find((p) => p.includes("from public.profile_interviews pi"))!;
    assert.match(all, /rows=5000/, all);
  } finally {
    await sql.end({ timeout: 1 });
  }
});
