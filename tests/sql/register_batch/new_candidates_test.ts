import assert from "node:assert/strict";
import { createMerchant, credits, merchantFootprint } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { registerBatch, tokensOf } from "../_register_batch.ts";

const db = fileDatabase();

Deno.test(
  "register_batch: each new candidate gets a profile, a registration, one live token and costs one credit",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx, { credits: 5 });
    const rows = await registerBatch(tx, merchant, [
      { email: "Ada@Example.com", name: "Ada", external_id: "ext-1" },
      { email: "bob@example.com" },
    ]);

    assert.deepEqual(rows.map((r) => r.i), [0, 1]);
    for (const row of rows) {
      assert.ok("jti" in row, JSON.stringify(row));
      const tokens = await tokensOf(tx, row.profile_interview_id);
      assert.deepEqual(tokens.map((t) => [t.jti, t.revoked_at]), [[row.jti, null]]);
    }
    const [ada] = await tx`select email, email_key, name, external_id from candidate_profiles
      where merchant_id = ${merchant.merchantId} and email_key = 'ada@example.com'`;
    assert.deepEqual({ ...ada }, {
      email: "Ada@Example.com",
      email_key: "ada@example.com",
      name: "Ada",
      external_id: "ext-1",
    });
    assert.deepEqual(await merchantFootprint(tx, merchant.merchantId), {
      profiles: 2,
      registrations: 2,
      tokens: 2,
      emails: 0,
      credits: 3,
    });
  }),
);

Deno.test(
  "register_batch: test registrations spend no credit, even from a merchant that has none",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx, { credits: 0 });
    const rows = await registerBatch(tx, merchant, [{ email: "t@example.com" }], { isTest: true });
    assert.ok("jti" in rows[0], JSON.stringify(rows));
    assert.equal(await credits(tx, merchant.merchantId), 0);
    const [{ is_test, credit_spent }] = await tx`select is_test, credit_spent from profile_interviews
      where merchant_id = ${merchant.merchantId}`;
    assert.deepEqual([is_test, credit_spent], [true, false]);
  }),
);

Deno.test(
  "register_batch: p_send_invitation queues one invitation per row, carrying that row's token",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const [row] = await registerBatch(tx, merchant, [{ email: "inv@example.com", name: "Inv" }], {
      sendInvitation: true,
    });
    assert.ok("jti" in row);
    const emails = await tx`select kind, to_email, to_name, status, payload ->> 'jti' as jti,
        payload ->> 'interview_name' as interview_name
      from email_outbox where profile_interview_id = ${row.profile_interview_id}`;
    assert.deepEqual(emails.map((e) => ({ ...e })), [{
      kind: "invitation",
      to_email: "inv@example.com",
      to_name: "Inv",
      status: "pending",
      jti: row.jti,
      interview_name: "Fixture interview",
    }]);
  }),
);
