/**
 * Structured JSON logs, one object per line. Callers pass only what is safe to
 * keep: request bodies, headers, tokens and keys are never logged.
 *
 * LOG_LEVEL (config.ts) sets the least severe level written; createRuntime
 * applies it with setLogLevel. Hosted Supabase rate-limits each function's
 * logs, so a deployment can keep to warnings and errors, or sample successful
 * requests' access lines (app.ts).
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

const SEVERITY: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
let threshold = SEVERITY.info;

export function setLogLevel(level: LogLevel): void {
  threshold = SEVERITY[level];
}

export function log(
  level: LogLevel,
  message: string,
  fields: Record<string, unknown> = {},
): void {
  if (SEVERITY[level] < threshold) return;
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
