import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors.ts";

/** The request body as a JSON object, or a 422 saying why it is not one. */
export async function readJsonObject(
  c: Context,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await c.req.text();
  } catch (err) {
    if (err instanceof ApiError) throw err; // the body size limit
    // Reading a body fails only when its sender stops sending: a client that hung up mid-body (BadResource
    // and the like). Its request is answered (nobody may be listening) and logged as the client's doing.
    throw new ApiError(400, "The request body was cut off before it ended", undefined, {}, {
      clientAborted: true,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(422, "Request body must be valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(422, "Request body must be a JSON object");
  }
  refuseDeepNesting(body);
  return body as Record<string, unknown>;
}

/** A 422 for a request that nests deeper than MAX_JSON_DEPTH: read as JSON here or by the MCP transport. */
export function refuseDeepNesting(request: unknown): void {
  if (nestingDepth(request) > MAX_JSON_DEPTH) {
    throw new ApiError(422, `Request body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
}

/**
 * Extra keys of a row are echoed in the response, and JSON.parse takes nesting that JSON.stringify
 * cannot give back (it overflows the stack): such a request would commit its rows and then fail.
 */
export const MAX_JSON_DEPTH = 64;

/** How deep arrays and objects nest in a parsed JSON value (a scalar is 0), without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (current === null || typeof current !== "object") continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_JSON_DEPTH) break;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * Validates a value against a schema, turning the first issue into the API's
 * error shape: `{"error":"Field is required.","name":"interview_id"}` for a
 * missing field, the schema's own message otherwise.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
): z.output<S> {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.map(String).join(".") : undefined;
  // An absent enum field is an invalid_value: missing too.
  const missing = (issue.code === "invalid_type" || issue.code === "invalid_value") &&
    issue.input === undefined;
  throw new ApiError(
    422,
    missing ? "Field is required." : issue.message,
    field,
  );
}
