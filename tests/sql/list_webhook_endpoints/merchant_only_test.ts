import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint, SECRET } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "list_webhook_endpoints: the merchant's own, oldest first, never a secret",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    await merchantWithEndpoint(tx);
    const second = await asOwner(
      tx,
      m,
      (sql, caller) =>
        sql`app.create_webhook_endpoint(${caller}, null, 'https://93.184.215.14/2', '{email.failed}', null,
        ${SECRET}, 20)`,
    );
    // One transaction has one now(): the second is made later by hand.
    await tx`update webhook_endpoints set created_at = now() + interval '1 second' where id = ${second.id}`;
    const listed = await asOwner(tx, m, (sql, caller) => sql`app.list_webhook_endpoints(${caller}, null)`);
    assert.equal(listed.merchant_id, m.merchantId);
    assert.deepEqual(listed.webhook_endpoints.map((e: { id: string }) => e.id), [m.endpoint.id, second.id]);
    assert.equal(JSON.stringify(listed).includes('secret"'), false);
  }),
);
