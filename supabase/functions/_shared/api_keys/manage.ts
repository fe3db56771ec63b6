import type { z } from "zod";
import { type Caller, sqlCaller } from "../auth.ts";
import { ApiError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { mintApiKey } from "./key.ts";
import type { ApiKey, ApiKeyList, CreateApiKeyRequest, CreatedApiKey } from "./schemas.ts";

/**
 * Creating, listing and revoking a merchant's API keys: one SQL call each, which also authorizes the
 * caller (app.acting_merchant with the owner role). A key may not manage keys: a leaked one must not be
 * able to mint more or revoke the merchant's others.
 */
export function createApiKeyManager(runtime: Runtime) {
  const { db } = runtime;
  const accountOf = (caller: Caller) => {
    if (caller.kind === "apiKey") {
      throw new ApiError(
        403,
        "API keys cannot manage API keys: use a merchant owner's token or the service key",
      );
    }
    return sqlCaller(caller).accountId;
  };

  return {
    async create(
      caller: Caller,
      request: z.output<typeof CreateApiKeyRequest>,
      deadline: number,
    ): Promise<z.infer<typeof CreatedApiKey>> {
      const accountId = accountOf(caller);
      const minted = mintApiKey();
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof ApiKey> }[]>`
          select app.create_api_key(
            ${accountId}::uuid, ${request.merchant_id ?? null}::uuid, ${request.name}, ${minted.prefix},
            decode(${minted.digest}, 'hex'), ${request.expires_at ?? null}::timestamptz
          ) as result`);
      return { ...result, key: minted.key };
    },

    async list(
      caller: Caller,
      merchantId: string | null,
      deadline: number,
    ): Promise<z.infer<typeof ApiKeyList>> {
      const accountId = accountOf(caller);
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof ApiKeyList> }[]>`
          select app.list_api_keys(${accountId}::uuid, ${merchantId}::uuid) as result`);
      return result;
    },

    async revoke(caller: Caller, keyId: string, deadline: number): Promise<z.infer<typeof ApiKey>> {
      const accountId = accountOf(caller);
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof ApiKey> }[]>`
          select app.revoke_api_key(${accountId}::uuid, ${keyId}::uuid) as result`);
      return result;
    },
  };
}
