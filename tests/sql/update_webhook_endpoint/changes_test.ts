import assert from "node:assert/strict";
import type postgres from "postgres";
import { createMerchant } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint, refusal } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "update_webhook_endpoint: the keys given change, the others stay; a null description clears it",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const update = (changes: postgres.JSONValue) =>
      asOwner(
        tx,
        m,
        (sql, caller) =>
          sql`app.update_webhook_endpoint(${caller}, null, ${m.endpoint.id}::uuid, ${
            sql.json(changes)
          }::jsonb)`,
      );
    const described = await update({ description: "ATS", event_types: ["email.failed", "email.delivered"] });
    assert.equal(described.url, "https://93.184.215.14/hooks");
    assert.deepEqual(described.event_types, ["email.failed", "email.delivered"]);
    assert.equal(described.description, "ATS");
    const moved = await update({ url: "https://93.184.215.14/new" });
    assert.deepEqual([moved.url, moved.description], ["https://93.184.215.14/new", "ATS"]);
    assert.equal((await update({ description: null })).description, null);
  }),
);

Deno.test(
  "update_webhook_endpoint: another merchant's endpoint is a 404 to its caller, and stays as it was",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const other = await createMerchant(tx);
    const refused = await refusal(
      tx,
      (sp) =>
        asOwner(
          sp,
          other,
          (sql, caller) =>
            sql`app.update_webhook_endpoint(${caller}, null, ${m.endpoint.id}::uuid, '{"description": "x"}')`,
        ),
    );
    assert.deepEqual(refused, { code: "JM404", message: "Webhook endpoint not found" });
    const [row] = await tx`select description from webhook_endpoints where id = ${m.endpoint.id}`;
    assert.equal(row.description, null);
  }),
);
