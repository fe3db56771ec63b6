import type { z } from "zod";
import { type Caller, callerSql } from "../auth.ts";
import type { Runtime } from "../runtime.ts";
import { mintApiKey } from "./key.ts";
import type { ApiKey, ApiKeyList, CreateApiKeyRequest, CreatedApiKey } from "./schemas.ts";

/**
 * Creating, listing and revoking a merchant's API keys: one SQL call each, which also authorizes the
 * caller (app.api_key_manager_merchant: owners, admins and the service key; never a key, so that a
 * leaked one cannot mint more or revoke the merchant's others).
 */
export function createApiKeyManager(runtime: Runtime) {
  const { db } = runtime;

  return {
    async create(
      caller: Caller,
      request: z.output<typeof CreateApiKeyRequest>,
      deadline: number,
    ): Promise<z.infer<typeof CreatedApiKey>> {
      const minted = mintApiKey();
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof ApiKey> }[]>`
          select app.create_api_key(
            ${callerSql(sql, caller)}, ${
          request.merchant_id ?? null
        }::uuid, ${request.name}, ${minted.prefix},
            decode(${minted.digest}, 'hex'), ${request.expires_at ?? null}::timestamptz
          ) as result`);
      return { ...result, key: minted.key };
    },

    async list(
      caller: Caller,
      merchantId: string | null,
      deadline: number,
    ): Promise<z.infer<typeof ApiKeyList>> {
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof ApiKeyList> }[]>`
          select app.list_api_keys(${callerSql(sql, caller)}, ${merchantId}::uuid) as result`);
      return result;
    },

    async revoke(caller: Caller, keyId: string, deadline: number): Promise<z.infer<typeof ApiKey>> {
      const [{ result }] = await db.query(deadline, (sql) =>
        sql<{ result: z.infer<typeof ApiKey> }[]>`
          select app.revoke_api_key(${callerSql(sql, caller)}, ${keyId}::uuid) as result`);
      return result;
    },
  };
}
