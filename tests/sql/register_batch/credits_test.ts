import assert from "node:assert/strict";
import type postgres from "postgres";
import { createMerchant, merchantFootprint } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { registerBatch } from "../_register_batch.ts";

const db = fileDatabase();

Deno.test(
  "register_batch: the optimistic pass raises JMCRD when the merchant cannot pay for every new row",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx, { credits: 1 });
    const before = await merchantFootprint(tx, merchant.merchantId);
    await assert.rejects(
      tx.savepoint((sp) =>
        registerBatch(sp as postgres.TransactionSql, merchant, [{ email: "a@example.com" }, {
          email: "b@example.com",
        }])
      ),
      (err: { code?: string }) => err.code === "JMCRD",
    );
    assert.deepEqual(await merchantFootprint(tx, merchant.merchantId), before);
  }),
);

Deno.test(
  "register_batch: with a budget, new rows spend it in input order and the rest fail alone",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx, { credits: 1 });
    const [reused] = await registerBatch(tx, merchant, [{ email: "old@example.com" }]);
    assert.ok("jti" in reused);
    await tx`update merchants set interview_credits = 1 where id = ${merchant.merchantId}`;

    const rows = await registerBatch(tx, merchant, [
      { email: "first@example.com" },
      { email: "old@example.com" },
      { email: "second@example.com" },
    ], { creditBudget: 1 });

    assert.ok("jti" in rows[0], JSON.stringify(rows[0]));
    assert.ok("jti" in rows[1], "a reused registration needs no credit");
    assert.deepEqual(rows[2], { i: 2, error: "Not enough interview credits" });
    const profiles =
      await tx`select email_key from candidate_profiles where merchant_id = ${merchant.merchantId}
      order by 1`;
    assert.deepEqual(profiles.map((p) => p.email_key), ["first@example.com", "old@example.com"]);
    assert.equal((await merchantFootprint(tx, merchant.merchantId)).credits, 0);
  }),
);
