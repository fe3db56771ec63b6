import postgres from "postgres";
import { ApiError } from "./errors.ts";

/** Seconds a client should wait before retrying when the database is unreachable. */
const RETRY_AFTER_SECONDS = "5";

export const CONNECTION_LOST_MESSAGE =
  "The connection to the database was lost mid-request: it may or may not have been applied, retry later";

// The database could not be reached or refused the session: the statement was never sent.
const UNAVAILABLE_CODES = new Set([
  "CONNECT_TIMEOUT",
  "CONNECTION_ENDED",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "25P03", // idle_in_transaction_session_timeout
  "25P04", // transaction_timeout
  "53300", // too_many_connections
]);

// The connection died after the statement may have reached the server: it may have committed. The answer
// says so, rather than claiming nothing happened (docs/decisions.md, "Reliability").
const LOST_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_LOST", // db.ts: a statement answered with no row
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
]);

// The transaction was rolled back because of other transactions; running it
// again is safe. The lock order the SQL functions keep should prevent these.
const TRANSIENT_CODES = new Set([
  "40P01", // deadlock_detected
  "40001", // serialization_failure
  "57014", // query_canceled: a statement_timeout, or a cancel; the statement rolled back
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
  if (typeof code === "string" && LOST_CODES.has(code)) {
    return new ApiError(503, CONNECTION_LOST_MESSAGE, undefined, retryLater);
  }
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) {
    return new ApiError(503, "Busy, retry later", undefined, retryLater);
  }
  return null;
}
