import postgres from "postgres";
import { ApiError } from "./errors.ts";

/** Seconds a client should wait before retrying when the database is unreachable. */
const RETRY_AFTER_SECONDS = "5";

// Connection-level failures (postgres.js codes, socket errors, server shutting
// down or out of connections): the request did nothing and may be retried.
const UNAVAILABLE_CODES = new Set([
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
]);

// The transaction was rolled back because of other transactions; running it
// again is safe. The lock order the SQL functions keep should prevent these.
const TRANSIENT_CODES = new Set([
  "40P01", // deadlock_detected
  "40001", // serialization_failure
]);

/**
 * Translates what the database raised into an ApiError, or returns null for a
 * fault that is a plain 500. The SQL functions raise caller-facing errors as
 * SQLSTATE 'JM' + HTTP status, message as text and the field as HINT.
 */
export function apiErrorFromDatabase(err: unknown): ApiError | null {
  const retryLater = { "Retry-After": RETRY_AFTER_SECONDS };
  if (err instanceof postgres.PostgresError && /^JM\d{3}$/.test(err.code)) {
    const status = Number(err.code.slice(2)) as ConstructorParameters<typeof ApiError>[0];
    return new ApiError(status, err.message, err.hint || undefined, status === 503 ? retryLater : {});
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) {
    return new ApiError(503, "Database unavailable, retry later", undefined, retryLater);
  }
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) {
    return new ApiError(503, "Busy, retry later", undefined, retryLater);
  }
  return null;
}
