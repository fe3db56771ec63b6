import assert from "node:assert/strict";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { asOwner, merchantWithEndpoint, refusal, type Tx } from "../_webhook_endpoints.ts";

const db = fileDatabase();

type Fixture = Awaited<ReturnType<typeof merchantWithEndpoint>>;

/** A test event's delivery, put into `status` as a dispatcher would have left it. */
async function delivery(tx: Tx, m: Fixture, status: string, failedAgo = "1 hour") {
  const sent = await asOwner(
    tx,
    m,
    (sql, caller) => sql`app.send_webhook_test_event(${caller}, null, ${m.endpoint.id}::uuid)`,
  );
  await tx`update webhook_deliveries set status = ${status}::webhook_delivery_status, attempts = 12,
      send_after = now() + interval '1 day',
      claim_id = case when ${status} = 'sending' then gen_random_uuid() end,
      lease_expires_at = case when ${status} = 'sending' then now() + interval '1 minute' end,
      delivered_at = case when ${status} = 'delivered' then now() end,
      failed_at = case when ${status} = 'failed' then now() - ${failedAgo}::interval end,
      last_response_status = 500
    where id = ${sent.delivery_id}`;
  return sent as { delivery_id: string; event_id: string };
}

function replay(
  tx: Tx,
  m: Fixture,
  target: { delivery?: string; event?: string; since?: string },
  limit = 1000,
) {
  const [delivery, event, since] = [target.delivery ?? null, target.event ?? null, target.since ?? null];
  return asOwner(
    tx,
    m,
    (sql, caller) =>
      sql`app.replay_webhook_deliveries(${caller}, null, ${m.endpoint.id}::uuid, ${delivery}::uuid, ${event}::uuid,
      ${since}::timestamptz, ${limit})`,
  );
}

Deno.test(
  "replay_webhook_deliveries: back to pending, due now, attempts from zero, the same event",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const delivered = await delivery(tx, m, "delivered");
    const failed = await delivery(tx, m, "failed");
    assert.deepEqual((await replay(tx, m, { delivery: delivered.delivery_id })).replayed, [
      delivered.delivery_id,
    ]);
    assert.deepEqual((await replay(tx, m, { event: failed.event_id })).replayed, [failed.delivery_id]);
    const rows =
      await tx`select event_id, status, attempts, send_after = now() as due, delivered_at, failed_at,
        last_response_status
      from webhook_deliveries where id in ${
        tx([delivered.delivery_id, failed.delivery_id])
      } order by created_at`;
    for (const [row, sent] of rows.map((row, i) => [row, [delivered, failed][i]] as const)) {
      assert.deepEqual({ ...row }, {
        event_id: sent.event_id,
        status: "pending",
        attempts: 0,
        due: true,
        delivered_at: null,
        failed_at: null,
        last_response_status: 500,
      });
    }
  }),
);

Deno.test(
  "replay_webhook_deliveries: failed since a time takes exactly the failed ones at or after it",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const recent = await delivery(tx, m, "failed", "1 hour");
    await delivery(tx, m, "failed", "3 days");
    const sending = await delivery(tx, m, "sending");
    const delivered = await delivery(tx, m, "delivered");
    const [{ since }] = await tx`select (now() - interval '2 hours')::text as since`;
    assert.deepEqual((await replay(tx, m, { since })).replayed, [recent.delivery_id]);
    const [states] = await tx`select
        (select status from webhook_deliveries where id = ${sending.delivery_id}) as sending,
        (select status from webhook_deliveries where id = ${delivered.delivery_id}) as delivered`;
    assert.deepEqual({ ...states }, { sending: "sending", delivered: "delivered" });
    assert.deepEqual((await replay(tx, m, { since })).replayed, [], "none failed since then now");
  }),
);

Deno.test(
  "replay_webhook_deliveries: one in flight is JM409, an unknown one JM404, both changing nothing",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const sending = await delivery(tx, m, "sending");
    assert.equal((await refusal(tx, (sp) => replay(sp, m, { delivery: sending.delivery_id }))).code, "JM409");
    assert.equal((await refusal(tx, (sp) => replay(sp, m, { event: crypto.randomUUID() }))).code, "JM404");
    const [row] = await tx`select status, attempts from webhook_deliveries where id = ${sending.delivery_id}`;
    assert.deepEqual({ ...row }, { status: "sending", attempts: 12 });
  }),
);

Deno.test(
  "replay_webhook_deliveries: at most p_limit a call, the earliest failures first, and more says what remains",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const newest = await delivery(tx, m, "failed", "1 hour");
    const oldest = await delivery(tx, m, "failed", "3 hours");
    const middle = await delivery(tx, m, "failed", "2 hours");
    const since = "2020-01-01T00:00:00Z";
    const first = await replay(tx, m, { since }, 2);
    assert.deepEqual(new Set(first.replayed), new Set([oldest.delivery_id, middle.delivery_id]));
    assert.equal(first.more, true);
    const second = await replay(tx, m, { since }, 2);
    assert.deepEqual([second.replayed, second.more], [[newest.delivery_id], false]);
    const none = await replay(tx, m, { since }, 2);
    assert.deepEqual([none.replayed, none.more], [[], false]);
  }),
);
