import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint, refusal } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "send_webhook_test_event: one event and one due delivery to the endpoint, whatever it subscribes to",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx, ["email.failed"]);
    const sent = await asOwner(
      tx,
      m,
      (sql, caller) => sql`app.send_webhook_test_event(${caller}, null, ${m.endpoint.id}::uuid)`,
    );
    const [row] = await tx`select v.type, v.merchant_id, d.endpoint_id, d.status, d.attempts,
        d.send_after <= now() as due
      from webhook_events v join webhook_deliveries d on d.event_id = v.id where v.id = ${sent.event_id}`;
    assert.deepEqual({ ...row }, {
      type: "webhook.test",
      merchant_id: m.merchantId,
      endpoint_id: m.endpoint.id,
      status: "pending",
      attempts: 0,
      due: true,
    });
  }),
);

Deno.test(
  "send_webhook_test_event: a disabled endpoint is JM409 and nothing is queued",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    await tx`update webhook_endpoints set enabled = false, disabled_reason = 'off' where id = ${m.endpoint.id}`;
    const refused = await refusal(
      tx,
      (sp) =>
        asOwner(
          sp,
          m,
          (sql, caller) => sql`app.send_webhook_test_event(${caller}, null, ${m.endpoint.id}::uuid)`,
        ),
    );
    assert.equal(refused.code, "JM409");
    const [{ n }] =
      await tx`select count(*)::int as n from webhook_events where merchant_id = ${m.merchantId}`;
    assert.equal(n, 0);
  }),
);
