import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "set_webhook_endpoint_enabled: disabling gives the reason; enabling clears it and failing_since",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const set = (enabled: boolean) =>
      asOwner(
        tx,
        m,
        (sql, caller) =>
          sql`app.set_webhook_endpoint_enabled(${caller}, null, ${m.endpoint.id}::uuid, ${enabled})`,
      );
    const disabled = await set(false);
    assert.deepEqual([disabled.enabled, disabled.disabled_reason], [false, "Disabled through the API"]);
    assert.deepEqual(await set(false), disabled, "disabling again changes nothing");
    await tx`update webhook_endpoints set enabled = false, disabled_reason = 'Failing for 3 days',
      failing_since = now() - interval '3 days' where id = ${m.endpoint.id}`;
    const enabled = await set(true);
    assert.deepEqual([enabled.enabled, enabled.disabled_reason, enabled.failing_since], [true, null, null]);
  }),
);
