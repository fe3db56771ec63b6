import type { Context } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors.ts";

/** The request body as a JSON object, or a 422 saying why it is not one. */
export async function readJsonObject(
  c: Context,
): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(422, "Request body must be valid JSON");
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(422, "Request body must be a JSON object");
  }
  return body as Record<string, unknown>;
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
  const missing = issue.code === "invalid_type" && issue.input === undefined;
  throw new ApiError(
    422,
    missing ? "Field is required." : issue.message,
    field,
  );
}
