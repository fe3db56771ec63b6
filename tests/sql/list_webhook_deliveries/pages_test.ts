import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint } from "../_webhook_endpoints.ts";

const db = fileDatabase();

Deno.test(
  "list_webhook_deliveries: newest first, next names the page's last row only when more follow",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sent = await asOwner(
        tx,
        m,
        (sql, caller) => sql`app.send_webhook_test_event(${caller}, null, ${m.endpoint.id}::uuid)`,
      );
      // One transaction has one now(): spread the rows apart.
      await tx`update webhook_deliveries set created_at = now() + make_interval(secs => ${i})
        where id = ${sent.delivery_id}`;
      ids.push(sent.delivery_id);
    }
    const page = (
      limit: number,
      after: { created_at: string; id: string } | null,
      status: string | null = null,
    ) =>
      asOwner(tx, m, (sql, caller) =>
        sql`app.list_webhook_deliveries(${caller}, null, ${m.endpoint.id}::uuid,
          ${status}::webhook_delivery_status, ${limit}, ${after?.created_at ?? null}::timestamptz,
          ${after?.id ?? null}::uuid)`);
    const first = await page(2, null);
    assert.deepEqual(first.deliveries.map((d: { id: string }) => d.id), [ids[2], ids[1]]);
    assert.equal(first.next.id, ids[1]);
    const second = await page(2, first.next);
    assert.deepEqual(second.deliveries.map((d: { id: string }) => d.id), [ids[0]]);
    assert.equal(second.next, null);
    assert.equal((await page(3, null)).next, null, "a full last page has no next");
    assert.deepEqual((await page(10, null, "failed")).deliveries, []);
    assert.equal(first.deliveries[0].event_type, "webhook.test");
    assert.ok(first.deliveries[0].next_attempt_at);
  }),
);
