/**
 * An endpoint's deliveries grow without bound; reading a page of them and replaying its failed ones read
 * through indexes, not the endpoint's (or the table's) every delivery: with 5,000 deliveries, 20 of them
 * failed, the page reads its rows from webhook_deliveries_endpoint_idx and the replay finds the failed ones
 * through webhook_deliveries_failed_idx. Plans are read back through auto_explain, as
 * tests/query_plans_test.ts does.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { createMerchant } from "./_support/fixtures.ts";

Deno.test("a page of deliveries and a failed-since replay read through indexes", async () => {
  const plans: string[] = [];
  const sql = postgres(loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }).databaseUrl, {
    max: 1,
    onnotice: (notice) => plans.push(notice.message),
  });
  try {
    const fixture = await createMerchant(sql);
    const [{ result: endpoint }] = await sql`select app.create_webhook_endpoint(
      app.as_caller(${fixture.ownerId}::uuid, null), null, 'http://127.0.0.1:9/plans', '{registration.started}',
      null, ${`whsec_${"P".repeat(43)}=`}, 20) as result`;
    await sql`
      with events as (
        insert into webhook_events (merchant_id, type, payload, created_at)
        select ${fixture.merchantId}, 'registration.started', '{}', now() - make_interval(secs => n)
        from generate_series(1, 5000) n
        returning id, created_at
      )
      insert into webhook_deliveries (event_id, endpoint_id, status, attempts, created_at, delivered_at, failed_at)
      select id, ${endpoint.id}, case when n % 250 = 0 then 'failed' else 'delivered' end::webhook_delivery_status,
        1, created_at, case when n % 250 <> 0 then created_at end, case when n % 250 = 0 then created_at end
      from (select id, created_at, row_number() over (order by created_at) as n from events) e`;
    await sql`analyze webhook_deliveries`;
    await sql`analyze webhook_events`;
    await sql`load 'auto_explain'`;
    await sql`set auto_explain.log_min_duration = 0`;
    await sql`set auto_explain.log_nested_statements = on`;
    await sql`set auto_explain.log_level = notice`;

    const caller = sql`app.as_caller(${fixture.ownerId}::uuid, null)`;
    plans.length = 0;
    const [{ page }] =
      await sql`select app.list_webhook_deliveries(${caller}, null, ${endpoint.id}::uuid, null, 50,
      null, null) as page`;
    assert.equal(page.deliveries.length, 50);
    const listPlan = plans.find((p) => p.includes("from public.webhook_deliveries d"));
    assert.ok(listPlan, `no plan of the page's statement among ${plans.length} notices`);
    assert.doesNotMatch(listPlan, /Seq Scan on webhook_(deliveries|events)/, listPlan);
    assert.match(listPlan, /Index Scan using webhook_deliveries_endpoint_idx/, listPlan);

    plans.length = 0;
    const [{ result }] = await sql`select app.replay_webhook_deliveries(${caller}, null, ${endpoint.id}::uuid,
      null, null, now() - interval '1 year', 1000) as result`;
    assert.equal(result.replayed.length, 20);
    const replayPlan = plans.find((p) => p.includes("with picked as"));
    assert.ok(replayPlan, `no plan of the replay's statement among ${plans.length} notices`);
    assert.doesNotMatch(replayPlan, /Seq Scan on webhook_deliveries/, replayPlan);
    assert.match(replayPlan, /Index (Only )?Scan using webhook_deliveries_failed_idx/, replayPlan);
  } finally {
    await sql.end();
  }
});
