import assert from "node:assert/strict";
import { apiKeyDigest, mintApiKey } from "../../../supabase/functions/_shared/api_keys/key.ts";
import { createMerchant, createStaff } from "../../_support/fixtures.ts";
import { fileDatabase, withTransaction } from "../../_support/suite.ts";
import { merchantWithEndpoint, refusal, type Tx } from "../_webhook_endpoints.ts";

const db = fileDatabase();

/** app.get_webhook_endpoint as the given caller: an account, or an API key's digest, or neither (the service key). */
function get(tx: Tx, id: string, caller: { account?: string; key?: string; merchant?: string }) {
  return tx`select app.get_webhook_endpoint(
      app.as_caller(${caller.account ?? null}::uuid, decode(${caller.key ?? null}, 'hex')),
      ${caller.merchant ?? null}::uuid, ${id}::uuid) as result`.then(([{ result }]) => result);
}

Deno.test(
  "get_webhook_endpoint: its merchant's owner, API key and the service key naming it; never a secret",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const key = mintApiKey();
    await tx`insert into merchant_api_keys (merchant_id, name, prefix, key_hash)
      values (${m.merchantId}, 'k', ${key.prefix}, decode(${key.digest}, 'hex'))`;
    const byOwner = await get(tx, m.endpoint.id, { account: m.ownerId });
    assert.equal(byOwner.id, m.endpoint.id);
    assert.equal("secret" in byOwner, false);
    assert.deepEqual(await get(tx, m.endpoint.id, { key: apiKeyDigest(key.key) }), byOwner);
    assert.deepEqual(await get(tx, m.endpoint.id, { merchant: m.merchantId }), byOwner);
  }),
);

Deno.test(
  "get_webhook_endpoint: staff 403, another merchant 404 (403 naming this one), the service key 422 without it",
  withTransaction(db, async (tx) => {
    const m = await merchantWithEndpoint(tx);
    const staff = await createStaff(tx, m.merchantId, "merchant");
    const other = await createMerchant(tx);
    const codes = [];
    for (
      const caller of [
        { account: staff },
        { account: other.ownerId },
        { account: other.ownerId, merchant: m.merchantId },
        {},
      ]
    ) {
      codes.push((await refusal(tx, (sp) => get(sp, m.endpoint.id, caller))).code);
    }
    assert.deepEqual(codes, ["JM403", "JM404", "JM403", "JM422"]);
  }),
);
