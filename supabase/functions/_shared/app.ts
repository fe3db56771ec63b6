import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { methodNotAllowed } from "hono/method-not-allowed";
import { requestId, type RequestIdVariables } from "hono/request-id";
import type { Config } from "./config.ts";
import { apiErrorFromDatabase } from "./db_errors.ts";
import { ApiError } from "./errors.ts";
import { describeError, log } from "./log.ts";

export type AppEnv = {
  Variables: RequestIdVariables & {
    /** When the request must be answered by (epoch ms): REQUEST_TIMEOUT_MS after it arrived (db.ts). */
    deadline: number;
  };
};

/**
 * The Hono app every edge function starts from: request ids, CORS, access
 * logs, a body size limit, 404/405, and one error handler that renders every
 * failure as `{"error", "name"?}` without leaking internals.
 */
export function createFunctionApp(
  functionName: string,
  config: Config,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>().basePath(`/${functionName}`);

  app.use(requestId());
  app.use(async (c, next) => {
    c.set("deadline", Date.now() + config.requestTimeoutMs);
    const started = performance.now();
    await next();
    log(c.res.status >= 500 ? "error" : "info", "request", {
      request_id: c.get("requestId"),
      function: functionName,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ...(c.error instanceof ApiError && c.error.logFields.clientAborted ? { client_aborted: true } : {}),
      duration_ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(cors({
    origin: config.allowedOrigins.length > 0 ? config.allowedOrigins : "*",
    allowHeaders: [
      "authorization",
      "x-client-info",
      "apikey",
      "content-type",
      "x-request-id",
    ],
    allowMethods: ["POST", "GET", "OPTIONS"],
    exposeHeaders: ["x-request-id", "retry-after"],
    maxAge: 86400,
  }));
  app.use(methodNotAllowed({
    app,
    onMethodNotAllowed: (c, methods) =>
      c.json({ error: "Method not allowed" }, 405, {
        Allow: methods.join(", "),
      }),
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

  app.notFound((c) => c.json({ error: "Not found" }, 404));
  app.onError((err, c) => {
    const apiError = err instanceof ApiError ? err : apiErrorFromDatabase(err);
    if (apiError) {
      if (apiError.status >= 500) {
        log("error", "request failed", {
          request_id: c.get("requestId"),
          ...describeError(err),
        });
      }
      return c.json(apiError.body(), apiError.status, apiError.headers);
    }
    if (err instanceof HTTPException && err.status < 500) {
      return c.json({ error: err.message || "Bad request" }, err.status);
    }
    const id = c.get("requestId");
    log("error", "unexpected error", { request_id: id, ...describeError(err) });
    return c.json({ error: "Internal server error", request_id: id }, 500);
  });
  return app;
}
