/**
 * Structured JSON logs, one object per line. Callers pass only what is safe to
 * keep: request bodies, headers, tokens and keys are never logged.
 */
type Level = "info" | "warn" | "error";

export function log(
  level: Level,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  const line = JSON.stringify({
    time: new Date().toISOString(),
    level,
    msg: message,
    ...fields,
  });
  if (level === "error") console.error(line);
  else console.log(line);
}

/** The parts of an unexpected error worth logging: never its query parameters. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  const code = (err as { code?: unknown }).code;
  return {
    error: err.message,
    error_name: err.name,
    ...(code ? { error_code: code } : {}),
    stack: err.stack,
  };
}
