import { createHash } from "node:crypto";
import type postgres from "postgres";
import { type Caller, callerSql } from "./auth.ts";
import { ApiError } from "./errors.ts";
import type { Runtime } from "./runtime.ts";

/**
 * `Idempotency-Key` (IETF draft "The Idempotency-Key HTTP Header Field") on every endpoint that writes
 * (docs/idempotency.md): the first request with a key runs, and the response of its SQL call is stored per
 * merchant and key in the same statement, so in the same transaction as its writes; a repeat with the same
 * body is answered from it, with `Idempotent-Replayed: true`, and runs nothing.
 */
export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
export const IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed";

/** A request's key and the fingerprint of what it asks (the endpoint and its body). */
export interface IdempotencyKey {
  key: string;
  /** SHA-256, hex. */
  fingerprint: string;
}

/** The draft's key is a Structured Field string (`"…"`); a bare token is taken as well, as clients send it. */
const KEY = /^[\x20-\x7e]{1,255}$/;

/** The request's Idempotency-Key, or null without one; a malformed key is a 422 naming the header. */
export function idempotencyKeyOf(headers: Headers, endpoint: string, body: unknown): IdempotencyKey | null {
  const raw = headers.get(IDEMPOTENCY_KEY_HEADER)?.trim();
  if (raw === undefined) return null;
  const key = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (!KEY.test(key) || key.includes('"') || key.includes("\\")) {
    throw new ApiError(422, "Must be 1 to 255 printable ASCII characters", IDEMPOTENCY_KEY_HEADER);
  }
  // The body as parsed: a repeat that differs only in whitespace is the same request.
  const fingerprint = createHash("sha256").update(`${endpoint}\n${JSON.stringify(body)}`).digest("hex");
  return { key, fingerprint };
}

/** What a request's SQL call answered, and whether that answer is a stored one. */
export interface Once<Result, Context> {
  result: Result;
  /** What the request computed before its call (e.g. when its links were issued): the first request's. */
  context: Context;
  replayed: boolean;
}

/**
 * Runs a request's one SQL call (`operation`: an expression returning jsonb) at most once per merchant and
 * Idempotency-Key. The merchant is the one `caller` acts for with `merchantId` (app.idempotency_claim
 * authorizes it); with no caller, `merchantId` is one the request is already known to act for (an interview
 * token's, verified). `context` is what the answer is rendered from besides the call's result (a link's
 * issue time): stored with it, so a replay renders the same answer. Without a key it only runs the call.
 */
export function createOnce(runtime: Runtime) {
  const { db, config } = runtime;
  return async function once<Result, Context extends postgres.JSONValue>(
    caller: Caller | null,
    merchantId: string | null,
    key: IdempotencyKey | null,
    context: Context,
    operation: (sql: postgres.ISql) => postgres.Fragment,
    deadline: number,
  ): Promise<Once<Result, Context>> {
    type Row = { response: { result: Result; context: Context }; replayed: boolean };
    const [row] = await db.query(deadline, (sql) => {
      const response = sql`jsonb_build_object('result', ${operation(sql)}, 'context', ${
        sql.json(context)
      }::jsonb)`;
      if (key === null) return sql<Row[]>`select ${response} as response, false as replayed`;
      // The claim is a function in FROM, so it runs once, before the CASE decides whether the call runs.
      const claim = caller === null
        ? sql`(select ${merchantId}::uuid as merchant_id, r.replay from app.idempotency_claim_for(
            ${merchantId}::uuid, ${key.key}, decode(${key.fingerprint}, 'hex'), ${config.idempotencyKeyTtlSeconds}
          ) as r (replay))`
        : sql`app.idempotency_claim(
            ${callerSql(sql, caller)}, ${merchantId}::uuid, ${key.key}, decode(${key.fingerprint}, 'hex'),
            ${config.idempotencyKeyTtlSeconds}
          )`;
      return sql<Row[]>`
        select case when c.replay is null then app.idempotency_store(c.merchant_id, ${key.key}, ${response})
            else c.replay end as response,
          c.replay is not null as replayed
        from ${claim} c`;
    });
    return { result: row.response.result, context: row.response.context, replayed: row.replayed };
  };
}
