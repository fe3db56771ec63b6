/** The shapes of the api-keys function: the handlers validate with them and `openapi.ts` describes it from them. */
import { z } from "zod";
import { storable, UNSTORABLE, uuid } from "../schemas.ts";

const merchantId = () =>
  uuid(
    "The merchant whose keys these are: the caller's own (the default), a sub-merchant of it, or with the " +
      "service key or as an admin any merchant (then required).",
  ).nullish();

export const CreateApiKeyRequest = z.object({
  name: z.string({ error: "Must be a string" }).trim().min(1, "Field is required.")
    .max(100, "At most 100 characters").refine(storable, `Contains ${UNSTORABLE}`)
    .meta({ description: "What the key is for, shown in lists.", example: "ATS production" }),
  merchant_id: merchantId(),
  expires_at: z.iso.datetime({ offset: true, error: "Must be an ISO 8601 date-time with a time zone" })
    .nullish().meta({
      description: "When the key stops working; in the future. Omitted or null: it works until revoked.",
      example: "2027-12-31T23:59:59Z",
    }),
});

export const ListApiKeysQuery = z.object({ merchant_id: merchantId() });

export const ApiKey = z.object({
  id: z.guid(),
  merchant_id: z.guid(),
  name: z.string(),
  prefix: z.string().meta({
    description: "The key's first characters: enough to tell keys apart, never enough to use.",
    example: "jmk_7Hq2xK9a",
  }),
  created_at: z.string(),
  created_by: z.guid().nullable().meta({
    description: "The account that created it; null for the service key.",
  }),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable().meta({ description: "Last authenticated use, to the minute." }),
  revoked_at: z.string().nullable(),
});

export const CreatedApiKey = ApiKey.extend({
  key: z.string().meta({
    description: "The secret: shown in this response only, stored nowhere (only its SHA-256 digest is kept).",
    example: "jmk_7Hq2xK9aLocalOnlyExampleNotARealKey000000",
  }),
});

export const ApiKeyList = z.object({
  merchant_id: z.guid(),
  api_keys: z.array(ApiKey).meta({ description: "Oldest first, revoked and expired keys included." }),
});
