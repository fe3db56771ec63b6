import assert from "node:assert/strict";
import type postgres from "postgres";
import { createMerchant } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { registerBatch } from "../_register_batch.ts";

const db = fileDatabase();

async function registered(tx: postgres.TransactionSql, email = "candidate@example.com") {
  const merchant = await createMerchant(tx);
  const [row] = await registerBatch(tx, merchant, [{ email, name: "Cand" }], { sendInvitation: true });
  if (!("jti" in row)) throw new Error(JSON.stringify(row));
  return { merchant, ...row };
}

function redeem(tx: postgres.TransactionSql, jti: string, registrationId: string) {
  return tx<{ result: Record<string, unknown> }[]>`
    select app.redeem_interview_token(${jti}, ${registrationId}) as result`.then(([{ result }]) => result);
}

/** The error a redemption raises, in a savepoint so that the test's transaction goes on. */
async function refusal(tx: postgres.TransactionSql, jti: string, registrationId: string) {
  try {
    await tx.savepoint((sp) => redeem(sp as postgres.TransactionSql, jti, registrationId));
  } catch (err) {
    const { code, message } = err as { code: string; message: string };
    return { code, message };
  }
  throw new Error("the redemption went through");
}

Deno.test(
  "redeem_interview_token: the live link starts the registration, is spent, and cancels pending reminders",
  withTransaction(db, async (tx) => {
    const r = await registered(tx);
    await tx`insert into email_outbox (merchant_id, profile_interview_id, kind, to_email)
      values (${r.merchant.merchantId}, ${r.profile_interview_id}, 'reminder', 'candidate@example.com')`;

    const result = await redeem(tx, r.jti, r.profile_interview_id);
    assert.equal(result.status, "started");
    assert.equal(result.profile_id, r.profile_id);
    assert.equal(result.name, "Cand");
    const [state] = await tx`select pi.status, t.redeemed_at is not null as spent,
        (select count(*)::int from email_outbox o where o.profile_interview_id = pi.id and o.kind = 'reminder'
          and o.status = 'pending') as reminders
      from profile_interviews pi join interview_tokens t on t.profile_interview_id = pi.id
      where pi.id = ${r.profile_interview_id}`;
    assert.deepEqual({ ...state }, { status: "started", spent: true, reminders: 0 });
  }),
);

const refusals: {
  name: string;
  before: (tx: postgres.TransactionSql, r: Awaited<ReturnType<typeof registered>>) => Promise<unknown>;
  code: string;
  message: string;
}[] = [
  {
    name: "spent once",
    before: (tx, r) => redeem(tx, r.jti, r.profile_interview_id),
    code: "JM410",
    message: "Interview token already used",
  },
  {
    name: "replaced by a newer link",
    before: (tx, r) => registerBatch(tx, r.merchant, [{ email: "candidate@example.com" }]),
    code: "JM410",
    message: "Interview token revoked: a newer link was issued",
  },
  {
    name: "expired",
    before: (tx, r) =>
      tx`update interview_tokens set issued_at = now() - interval '2 hours', expires_at = now() - interval '1 second' where jti = ${r.jti}`,
    code: "JM410",
    message: "Interview token expired",
  },
  {
    name: "its registration cancelled",
    before: (tx, r) =>
      tx`update profile_interviews set status = 'cancelled' where id = ${r.profile_interview_id}`,
    code: "JM410",
    message: "Interview link cancelled: the registration was cancelled",
  },
  {
    name: "its interview archived",
    before: (tx, r) => tx`update interviews set status = 'archived' where id = ${r.merchant.interviewId}`,
    code: "JM409",
    message: "Interview is no longer available",
  },
];

for (const { name, before, code, message } of refusals) {
  Deno.test(
    `redeem_interview_token: a link ${name} is refused (${code}) and changes nothing`,
    withTransaction(db, async (tx) => {
      const r = await registered(tx);
      await before(tx, r);
      const [stateBefore] =
        await tx`select status from profile_interviews where id = ${r.profile_interview_id}`;
      assert.deepEqual(await refusal(tx, r.jti, r.profile_interview_id), { code, message });
      const [stateAfter] =
        await tx`select status from profile_interviews where id = ${r.profile_interview_id}`;
      assert.deepEqual(stateAfter, stateBefore);
    }),
  );
}

Deno.test(
  "redeem_interview_token: a token presented with another registration's id is invalid (JM401)",
  withTransaction(db, async (tx) => {
    const a = await registered(tx, "a@example.com");
    const [b] = await registerBatch(tx, a.merchant, [{ email: "b@example.com" }]);
    assert.ok("jti" in b);
    assert.deepEqual(await refusal(tx, a.jti, b.profile_interview_id), {
      code: "JM401",
      message: "Invalid interview token",
    });
  }),
);
