import type { Caller } from "./auth.ts";

/** What an operation runs with besides its caller and request. */
export interface OperationContext {
  /** When the request must be answered by (epoch ms, db.ts). */
  deadline: number;
  /**
   * The HTTP request's headers, where an Idempotency-Key is read (idempotency.ts). An MCP call passes none: a
   * client's headers are its connection's, the same for every call, not one call's key.
   */
  headers: Headers;
}

/**
 * An endpoint's work once its caller is known: the request (a JSON body's object) validated with the endpoint's
 * zod schema, answered with a 422 in the API's shape when it does not fit; one SQL statement under the
 * request's deadline (db.ts); the answer's JSON, and whether it was replayed for an Idempotency-Key. An
 * endpoint's HTTP route and its MCP tool both run it, so they validate, authorize, write and answer alike.
 */
export type Operation<Answer> = (
  caller: Caller,
  request: Record<string, unknown>,
  context: OperationContext,
) => Promise<{ answer: Answer; replayed: boolean }>;

/**
 * A row of a batch's answer: the row as sent, then the answer's own fields. Keys the answer defines are not
 * echoed from the input, so a row never carries a field the API would not have set (an error row has no
 * `interview_url`, whatever it was sent with) and every answer fits the documented response schema.
 */
export function answerRow<Fields extends Record<string, unknown>>(
  sent: Record<string, unknown>,
  answerKeys: readonly string[],
  fields: Fields,
): Record<string, unknown> & Fields {
  const echoed = Object.fromEntries(Object.entries(sent).filter(([key]) => !answerKeys.includes(key)));
  return { ...echoed, ...fields };
}
