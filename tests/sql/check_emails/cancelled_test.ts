import assert from "node:assert/strict";
import type postgres from "postgres";
import { createMerchant } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { checkEmails, claim, invited, outboxRow } from "./_check_emails.ts";

const db = fileDatabase();

/** Each case: what happens after the claim, the reason the message is cancelled with. */
const cases: {
  name: string;
  reason: string;
  change: (
    tx: postgres.TransactionSql,
    r: { registrationId: string; interviewId: string },
  ) => Promise<unknown>;
}[] = [
  {
    name: "its registration was completed",
    reason: "Registration is no longer open",
    change: (tx, r) => tx`update profile_interviews set status = 'completed' where id = ${r.registrationId}`,
  },
  {
    name: "its interview was archived",
    reason: "The interview is no longer available",
    change: (tx, r) => tx`update interviews set status = 'archived' where id = ${r.interviewId}`,
  },
  {
    name: "its link was used",
    reason: "The interview link was already used, revoked or has expired",
    change: (tx, r) =>
      tx`update interview_tokens set redeemed_at = now() where profile_interview_id = ${r.registrationId}`,
  },
];

for (const { name, reason, change } of cases) {
  Deno.test(
    `check_emails: an invitation is cancelled, its attempt not counted, when ${name}`,
    withTransaction(db, async (tx) => {
      const merchant = await createMerchant(tx);
      const { outboxId, registrationId } = await invited(tx, merchant, "gone@example.com");
      const claimId = await claim(tx, [outboxId!]);
      await change(tx, { registrationId, interviewId: merchant.interviewId });

      assert.deepEqual(await checkEmails(tx, [outboxId!], claimId), [{
        id: outboxId,
        cancelled: true,
        link: null,
      }]);
      assert.deepEqual(await outboxRow(tx, outboxId!), {
        status: "cancelled",
        last_error: reason,
        attempts: 0,
        claim_id: null,
      });
    }),
  );
}

Deno.test(
  "check_emails: a reminder is cancelled once the interview was started",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const { registrationId } = await invited(tx, merchant, "started@example.com");
    const [{ id }] = await tx<{ id: string }[]>`
      insert into email_outbox (merchant_id, profile_interview_id, kind, to_email)
      values (${merchant.merchantId}, ${registrationId}, 'reminder', 'started@example.com') returning id`;
    const claimId = await claim(tx, [id]);
    await tx`update profile_interviews set status = 'started' where id = ${registrationId}`;

    assert.deepEqual(await checkEmails(tx, [id], claimId), [{ id, cancelled: true, link: null }]);
    assert.equal((await outboxRow(tx, id)).last_error, "The interview was already started");
  }),
);

Deno.test(
  "check_emails: a claimed invitation superseded by a newer one of the registration is cancelled",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const first = await invited(tx, merchant, "twice@example.com");
    const claimId = await claim(tx, [first.outboxId!]);
    const second = await invited(tx, merchant, "twice@example.com");
    assert.ok(second.outboxId);

    assert.deepEqual(await checkEmails(tx, [first.outboxId!], claimId), [{
      id: first.outboxId,
      cancelled: true,
      link: null,
    }]);
    assert.equal((await outboxRow(tx, first.outboxId!)).last_error, "Superseded by a newer invitation");
    assert.equal((await outboxRow(tx, second.outboxId!)).status, "pending");
  }),
);
