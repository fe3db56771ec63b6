import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "delete_webhook_endpoint: the endpoint and its deliveries go, the events stay",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const sent = await asOwner(
      tx,
      m,
      (sql, caller) => sql`app.send_webhook_test_event(${caller}, null, ${m.endpoint.id}::uuid)`,
    );
    const deleted = await asOwner(
      tx,
      m,
      (sql, caller) => sql`app.delete_webhook_endpoint(${caller}, null, ${m.endpoint.id}::uuid)`,
    );
    assert.equal(deleted.id, m.endpoint.id);
    const [left] = await tx`select
        (select count(*)::int from webhook_endpoints where id = ${m.endpoint.id}) as endpoints,
        (select count(*)::int from webhook_deliveries where id = ${sent.delivery_id}) as deliveries,
        (select count(*)::int from webhook_events where id = ${sent.event_id}) as events`;
    assert.deepEqual({ ...left }, { endpoints: 0, deliveries: 0, events: 1 });
  }),
);
