import type { ContentfulStatusCode } from "hono/utils/http-status";

/** An error meant for the API caller, rendered as `{"error", "name"?}`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    /** The request field at fault, when one is. */
    readonly field?: string,
    headers: Record<string, string> = {},
    /** What the access log should know: a body cut off by the client is its doing, not ours. */
    readonly logFields: { clientAborted?: true } = {},
  ) {
    super(message);
    this.name = "ApiError";
    // HTTP requires a challenge on every 401, wherever it was decided (here or in SQL).
    this.headers = status === 401 ? { "WWW-Authenticate": "Bearer", ...headers } : headers;
  }

  readonly headers: Record<string, string>;

  body(): { error: string; name?: string } {
    return this.field ? { error: this.message, name: this.field } : { error: this.message };
  }
}
