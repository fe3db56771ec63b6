import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId, type RequestIdVariables } from "hono/request-id";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Config } from "./config.ts";
import { apiErrorFromDatabase } from "./db_errors.ts";
import { ApiError } from "./errors.ts";
import { describeError, log, type LogLevel } from "./log.ts";

export type AppEnv = {
  Variables: RequestIdVariables & {
    /** Why the request was refused (a 4xx's message), for its access-log line. */
    refusal?: string;
    /** When the request must be answered by (epoch ms): REQUEST_TIMEOUT_MS after it arrived (db.ts). */
    deadline: number;
  };
};

/**
 * An access-log line's level: faults at error, refusals at warn, both always written; a client that hung
 * up is nobody's fault (info, always written); successes at info, sampled at LOG_REQUEST_SAMPLE_RATE.
 */
export function accessLogLevel(status: number, clientAborted: boolean, sampleRate: number): LogLevel | null {
  if (status >= 500) return "error";
  if (clientAborted) return "info";
  if (status >= 400) return "warn";
  return Math.random() < sampleRate ? "info" : null;
}

/**
 * How a function renders an error: by default `{"error", "name"?}` (plus `request_id` on an unexpected
 * 500, which is only given `requestId`); micro1's invite renders its own envelope.
 */
export type ErrorRenderer = (
  error: ApiError,
  requestId?: string,
) => { status: ContentfulStatusCode; body: Record<string, unknown> };

const defaultErrorRenderer: ErrorRenderer = (error, requestId) => ({
  status: error.status,
  body: requestId ? { ...error.body(), request_id: requestId } : error.body(),
});

/**
 * The Hono app every edge function starts from: request ids, CORS, access
 * logs, a body size limit, 404/405, and one error handler that renders every
 * failure as `{"error", "name"?}` without leaking internals.
 */
export function createFunctionApp(
  functionName: string,
  config: Config,
  renderError: ErrorRenderer = defaultErrorRenderer,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>().basePath(`/${functionName}`);

  app.use(requestId());
  app.use(async (c, next) => {
    c.set("deadline", Date.now() + config.requestTimeoutMs);
    const started = performance.now();
    await next();
    const clientAborted = c.error instanceof ApiError && c.error.logFields.clientAborted;
    const level = accessLogLevel(c.res.status, !!clientAborted, config.logRequestSampleRate);
    if (!level) return;
    const refusal = c.get("refusal");
    log(level, "request", {
      request_id: c.get("requestId"),
      function: functionName,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ...(clientAborted ? { client_aborted: true } : {}),
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
      ...(refusal ? { reason: refusal } : {}),
    });
  });
  app.use(cors({
    origin: config.allowedOrigins.length > 0 ? config.allowedOrigins : "*",
    allowHeaders: [
      "authorization",
      "x-client-info",
      "apikey",
      "x-api-key",
      "content-type",
      "x-request-id",
      "idempotency-key",
      // MCP's Streamable HTTP (the mcp function), for browser clients such as the MCP Inspector.
      "mcp-protocol-version",
    ],
    allowMethods: ["POST", "GET", "PATCH", "DELETE", "OPTIONS"],
    exposeHeaders: ["x-request-id", "retry-after", "idempotent-replayed"],
    maxAge: 86400,
  }));
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) => {
      c.set("refusal", "Method not allowed");
      const { status, body } = renderError(new ApiError(405, "Method not allowed"));
      return c.json(body, status, { Allow: methods.join(", ") });
    },
  }));
  app.use(bodyLimit({
    maxSize: config.maxBodyBytes,
    onError: () => {
      throw new ApiError(
        413,
        `Request body exceeds ${config.maxBodyBytes} bytes`,
      );
    },
  }));

  app.notFound((c) => {
    c.set("refusal", "Not found");
    const { status, body } = renderError(new ApiError(404, "Not found"));
    return c.json(body, status);
  });
  app.onError((err, c) => {
    const render = (error: ApiError, requestId?: string) => {
      const { status, body } = renderError(error, requestId);
      return c.json(body, status, error.headers);
    };
    if (err instanceof HTTPException && err.status < 500) {
      c.set("refusal", err.message || "Bad request");
      return render(new ApiError(err.status as ContentfulStatusCode, err.message || "Bad request"));
    }
    const failure = failureOf(err, c.get("requestId"));
    if (failure.error.status < 500) c.set("refusal", refusalOf(failure.error));
    return render(failure.error, failure.requestId);
  });
  return app;
}

/** How the access log words a refusal: the field at fault, then the message. */
export function refusalOf(error: ApiError): string {
  return error.field ? `${error.field}: ${error.message}` : error.message;
}

/**
 * What the caller is told of a failure, wherever it is answered (an HTTP route, an MCP tool): an ApiError as
 * it is, a database error as db_errors.ts maps it, anything else a 500 that carries `requestId`. Every 5xx is
 * logged with its cause under the request id.
 */
export function failureOf(err: unknown, requestId: string): { error: ApiError; requestId?: string } {
  const apiError = err instanceof ApiError ? err : apiErrorFromDatabase(err);
  if (apiError) {
    if (apiError.status >= 500) {
      log("error", "request failed", { request_id: requestId, ...describeError(err) });
    }
    return { error: apiError };
  }
  log("error", "unexpected error", { request_id: requestId, ...describeError(err) });
  return { error: new ApiError(500, "Internal server error"), requestId };
}
