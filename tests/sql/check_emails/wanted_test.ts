import assert from "node:assert/strict";
import { createMerchant } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { checkEmails, claim, invited, outboxRow } from "./_check_emails.ts";

const db = fileDatabase();

Deno.test(
  "check_emails: a wanted invitation comes back with its registration's live link and stays claimed",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const { outboxId, registrationId, jti } = await invited(tx, merchant, "wanted@example.com");
    const claimId = await claim(tx, [outboxId!]);

    const [checked] = await checkEmails(tx, [outboxId!], claimId);
    assert.equal(checked.cancelled, false);
    assert.equal(checked.link?.jti, jti);
    assert.equal(checked.link?.profile_interview_id, registrationId);
    assert.equal(checked.link?.merchant_id, merchant.merchantId);
    assert.deepEqual((await outboxRow(tx, outboxId!)).status, "sending");
  }),
);

Deno.test(
  "check_emails: an invitation carries the link live now, after a registration without an email replaced it",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const first = await invited(tx, merchant, "relinked@example.com");
    const claimId = await claim(tx, [first.outboxId!]);
    const again = await invited(tx, merchant, "relinked@example.com", false);
    assert.notEqual(again.jti, first.jti);

    const [checked] = await checkEmails(tx, [first.outboxId!], claimId);
    assert.deepEqual([checked.cancelled, checked.link?.jti], [false, again.jti]);
  }),
);

Deno.test(
  "check_emails: a row the claim no longer holds is neither returned nor changed",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const { outboxId } = await invited(tx, merchant, "taken@example.com");
    await claim(tx, [outboxId!]);
    const before = await outboxRow(tx, outboxId!);
    assert.deepEqual(await checkEmails(tx, [outboxId!], crypto.randomUUID()), []);
    assert.deepEqual(await outboxRow(tx, outboxId!), before);
  }),
);
