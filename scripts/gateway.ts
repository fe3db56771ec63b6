/**
 * A local stand-in for Supabase's API gateway + edge runtime: every app in
 * FUNCTIONS is served at `/functions/v1/<name>`, and, as on Supabase, the
 * function sees the request path without the `/functions/v1` prefix
 * (`/functions/v1/openapi/x?y` reaches the app as `/openapi/x?y`).
 *
 * There is no JWT verification here: every function is configured with
 * `verify_jwt = false` (supabase/config.toml) and authenticates on its own.
 */
import { FUNCTIONS } from "../supabase/functions/_shared/functions.ts";
import { describeError, log } from "../supabase/functions/_shared/log.ts";
import type { Runtime } from "../supabase/functions/_shared/runtime.ts";

export const FUNCTIONS_PREFIX = "/functions/v1";

/** What the gateway needs of a function's app: a Hono app (any Env) fits. */
export interface FunctionApp {
  fetch(request: Request, env: Deno.ServeHandlerInfo): Response | Promise<Response>;
}
export type FunctionFactories = Record<string, (runtime: Runtime) => FunctionApp>;

export interface GatewayOptions {
  runtime: Runtime;
  /** 0 picks a free port; read it back from `gateway.port`. */
  port: number;
  hostname?: string;
  /** Aborting it shuts the server down (same as `shutdown()`). */
  signal?: AbortSignal;
  /** Defaults to every function in FUNCTIONS. */
  functions?: FunctionFactories;
}

export interface Gateway {
  hostname: string;
  port: number;
  /** e.g. http://127.0.0.1:54321 */
  baseUrl: string;
  /** e.g. http://127.0.0.1:54321/functions/v1 */
  functionsUrl: string;
  /** The names served, in FUNCTIONS order. */
  functionNames: string[];
  /** Resolves once the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting connections and waits for in-flight requests. Idempotent. */
  shutdown(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

/** An answer of the gateway's own, with a request id like every function's and an access log line. */
function gatewayAnswer(request: Request, status: number, error: string, cause?: unknown): Response {
  const requestId = crypto.randomUUID();
  const url = new URL(request.url);
  // As the functions' own access lines (app.ts): a refusal at warn with its reason, a fault at error.
  log(status >= 500 ? "error" : "warn", "request", {
    request_id: requestId,
    function: null,
    method: request.method,
    path: url.pathname,
    status,
    ...(cause === undefined ? { reason: error } : describeError(cause)),
  });
  return new Response(JSON.stringify({ error, ...(status >= 500 ? { request_id: requestId } : {}) }), {
    status,
    headers: { ...JSON_HEADERS, "x-request-id": requestId },
  });
}

/**
 * The request at a new URL. Built field by field rather than `new Request(url, request)`,
 * which reads `request.signal` and so makes Deno.serve print its legacy-abort warning.
 */
function rewrite(request: Request, url: URL): Request {
  return new Request(url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: request.redirect,
  });
}

/** The handler on its own (no server): useful for tests that call it in-process. */
export function gatewayHandler(
  runtime: Runtime,
  functions: FunctionFactories = FUNCTIONS,
): (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response> {
  const apps = new Map(Object.entries(functions).map(([name, create]) => [name, create(runtime)]));
  return async (request, info) => {
    const url = new URL(request.url);
    // Supabase Auth's key endpoint, as a project that signs with its HS256 secret only serves it: no public
    // key. The default JWKS_URL points here, so that an ES256/RS256 token is refused (401) rather than
    // finding no endpoint (503).
    if (url.pathname === "/auth/v1/.well-known/jwks.json") {
      return new Response(JSON.stringify({ keys: [] }), { headers: JSON_HEADERS });
    }
    const match = url.pathname.match(/^\/functions\/v1\/([^/]+)(\/.*)?$/);
    if (!match) return gatewayAnswer(request, 404, "Not found");
    const app = apps.get(match[1]);
    if (!app) return gatewayAnswer(request, 404, "Function not found");
    url.pathname = `/${match[1]}${match[2] ?? ""}`;
    try {
      // `info` as Hono's env, exactly as `Deno.serve(app.fetch)` passes it (getConnInfo reads it).
      return await app.fetch(rewrite(request, url), info);
    } catch (err) {
      // The apps render their own errors; this is only for a crash outside them.
      return gatewayAnswer(request, 500, "Internal server error", err);
    }
  };
}

export function serveGateway(options: GatewayOptions): Gateway {
  const hostname = options.hostname ?? "127.0.0.1";
  const functions = options.functions ?? FUNCTIONS;
  const server = Deno.serve({
    hostname,
    port: options.port,
    signal: options.signal,
    onListen: () => {},
  }, gatewayHandler(options.runtime, functions));
  const { port } = server.addr as Deno.NetAddr;
  const urlHost = hostname.includes(":") ? `[${hostname}]` : hostname;
  const baseUrl = `http://${urlHost}:${port}`;
  let stopping: Promise<void> | undefined;
  const shutdown = () => stopping ??= server.shutdown();
  return {
    hostname,
    port,
    baseUrl,
    functionsUrl: `${baseUrl}${FUNCTIONS_PREFIX}`,
    functionNames: Object.keys(functions),
    finished: server.finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
