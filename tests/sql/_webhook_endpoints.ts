/** What the webhook endpoint functions' SQL tests share: a merchant with an endpoint, and calls as its owner. */
import type postgres from "postgres";
import { createMerchant, type MerchantFixture } from "../_support/fixtures.ts";

export const SECRET = `whsec_${"A".repeat(43)}=`;
export const OTHER_SECRET = `whsec_${"B".repeat(43)}=`;

export type Tx = postgres.TransactionSql;

/** A merchant and an endpoint of it, created by its owner through app.create_webhook_endpoint. */
export async function merchantWithEndpoint(
  tx: Tx,
  eventTypes = ["registration.started"],
): Promise<MerchantFixture & { endpoint: Record<string, unknown> & { id: string } }> {
  const merchant = await createMerchant(tx);
  const endpoint = await asOwner(
    tx,
    merchant,
    (sql, caller) =>
      sql`app.create_webhook_endpoint(${caller}, null, 'https://93.184.215.14/hooks', ${eventTypes}::text[],
        null, ${SECRET}, 20)`,
  );
  return { ...merchant, endpoint: endpoint as Record<string, unknown> & { id: string } };
}

/** `call` run as the merchant's owner: `caller` is app.as_caller(owner, no key). */
export async function asOwner(
  tx: Tx,
  merchant: MerchantFixture,
  call: (sql: Tx, caller: postgres.Fragment) => postgres.Fragment,
  // Tests read arbitrary JSON answers.
  // deno-lint-ignore no-explicit-any
): Promise<any> {
  const caller = tx`app.as_caller(${merchant.ownerId}::uuid, null)`;
  const [{ result }] = await tx`select ${call(tx, caller)} as result`;
  return result;
}

/** The code and message a call raises, in a savepoint so that the test's transaction goes on. */
export async function refusal(
  tx: Tx,
  run: (sp: Tx) => Promise<unknown>,
): Promise<{ code: string; message: string }> {
  try {
    await tx.savepoint((sp) => run(sp as Tx));
  } catch (err) {
    const { code, message } = err as { code: string; message: string };
    return { code, message };
  }
  throw new Error("the call went through");
}
