import assert from "node:assert/strict";
import { createMerchant, merchantFootprint } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { registerBatch, tokensOf } from "../_register_batch.ts";

const db = fileDatabase();

Deno.test(
  "register_batch: an open registration is reused for no credit; its live token is revoked for a new one",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx, { credits: 5 });
    const [first] = await registerBatch(tx, merchant, [{ email: "again@example.com", name: "First" }]);
    const [second] = await registerBatch(tx, merchant, [{ email: "AGAIN@example.com", name: "Second" }]);
    assert.ok("jti" in first && "jti" in second);

    assert.equal(second.profile_interview_id, first.profile_interview_id);
    assert.equal(second.profile_id, first.profile_id);
    assert.notEqual(second.jti, first.jti);
    const tokens = await tokensOf(tx, first.profile_interview_id);
    assert.deepEqual(tokens.map((t) => [t.jti, t.revoked_at !== null]), [[first.jti, true], [
      second.jti,
      false,
    ]]);
    const [{ name }] = await tx`select name from candidate_profiles where id = ${first.profile_id}`;
    assert.equal(name, "Second", "a row that goes ahead updates the profile");
    assert.equal((await merchantFootprint(tx, merchant.merchantId)).credits, 4);
  }),
);

Deno.test(
  "register_batch: a new invitation cancels the registration's invitation still pending",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const [first] = await registerBatch(tx, merchant, [{ email: "twice@example.com" }], {
      sendInvitation: true,
    });
    const [second] = await registerBatch(tx, merchant, [{ email: "twice@example.com" }], {
      sendInvitation: true,
    });
    assert.ok("jti" in first && "jti" in second);
    const emails = await tx`select status, payload ->> 'jti' as jti from email_outbox
      where profile_interview_id = ${first.profile_interview_id} order by created_at, status`;
    assert.deepEqual(
      new Map(emails.map((e) => [e.jti, e.status])),
      new Map([[first.jti, "cancelled"], [second.jti, "pending"]]),
    );
  }),
);

Deno.test(
  "register_batch: with p_skip_invited, a candidate already invited comes back skipped and nothing changes",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx);
    const [invited] = await registerBatch(tx, merchant, [{ email: "kept@example.com", name: "Kept" }], {
      sendInvitation: true,
    });
    assert.ok("jti" in invited);
    const before = await merchantFootprint(tx, merchant.merchantId);

    const rows = await registerBatch(tx, merchant, [
      { email: "kept@example.com", name: "Renamed", external_id: "x" },
      { email: "fresh@example.com" },
    ], { sendInvitation: true, skipInvited: true });

    assert.deepEqual(rows[0], {
      i: 0,
      profile_id: invited.profile_id,
      profile_interview_id: invited.profile_interview_id,
      skipped: true,
    });
    assert.ok("jti" in rows[1], "the other row goes ahead");
    const [profile] =
      await tx`select name, external_id from candidate_profiles where id = ${invited.profile_id}`;
    assert.deepEqual({ ...profile }, { name: "Kept", external_id: null });
    const tokens = await tokensOf(tx, invited.profile_interview_id);
    assert.deepEqual(tokens.map((t) => [t.jti, t.revoked_at]), [[invited.jti, null]]);
    assert.deepEqual(await merchantFootprint(tx, merchant.merchantId), {
      profiles: before.profiles + 1,
      registrations: before.registrations + 1,
      tokens: before.tokens + 1,
      emails: before.emails + 1,
      credits: before.credits - 1,
    });
  }),
);

Deno.test(
  "register_batch: a completed registration is not reused: the candidate gets a new one, for a credit",
  withTransaction(db, async (tx) => {
    const merchant = await createMerchant(tx, { credits: 5 });
    const [first] = await registerBatch(tx, merchant, [{ email: "done@example.com" }]);
    assert.ok("jti" in first);
    await tx`update profile_interviews set status = 'completed' where id = ${first.profile_interview_id}`;
    const [second] = await registerBatch(tx, merchant, [{ email: "done@example.com" }]);
    assert.ok("jti" in second);
    assert.notEqual(second.profile_interview_id, first.profile_interview_id);
    assert.equal(second.profile_id, first.profile_id);
    assert.equal((await merchantFootprint(tx, merchant.merchantId)).credits, 3);
  }),
);
