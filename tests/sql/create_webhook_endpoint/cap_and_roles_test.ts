import assert from "node:assert/strict";
import { createStaff } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint, refusal, SECRET } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "create_webhook_endpoint: the secret only in its answer; the cap refused with JM409, writing nothing",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    assert.equal(m.endpoint.secret, SECRET);
    assert.equal(m.endpoint.enabled, true);
    const [{ shown }] = await tx`select app.webhook_endpoint_json(e) as shown from webhook_endpoints e
      where id = ${m.endpoint.id}`;
    assert.equal("secret" in shown || "previous_secret" in shown, false);

    const create = (sp: typeof tx, cap: number) =>
      asOwner(
        sp,
        m,
        (sql, caller) =>
          sql`app.create_webhook_endpoint(${caller}, null, 'https://93.184.215.14/b', '{email.failed}', 'b',
          ${SECRET}, ${cap})`,
      );
    await create(tx, 2);
    const full = await refusal(tx, (sp) => create(sp, 2));
    assert.equal(full.code, "JM409");
    assert.equal(full.message, "A merchant has at most 2 webhook endpoints: delete one first");
    const [{ n }] =
      await tx`select count(*)::int as n from webhook_endpoints where merchant_id = ${m.merchantId}`;
    assert.equal(n, 2);
  }),
);

Deno.test(
  "create_webhook_endpoint: staff are refused (JM403); the service key must name the merchant (JM422)",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const staff = await createStaff(tx, m.merchantId, "merchant");
    const call = (account: string | null) => (sp: typeof tx) =>
      sp`select app.create_webhook_endpoint(app.as_caller(${account}::uuid, null), null, 'https://93.184.215.14/',
        '{email.failed}', null, ${SECRET}, 20)`;
    assert.deepEqual(await refusal(tx, call(staff)), { code: "JM403", message: "Role not permitted" });
    assert.equal((await refusal(tx, call(null))).code, "JM422");
  }),
);
