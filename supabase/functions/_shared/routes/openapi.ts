import { Scalar } from "@scalar/hono-api-reference";
import type { Hono } from "hono";
import type postgres from "postgres";
import { API_FUNCTIONS } from "../api_functions.ts";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { loadConfig, LOCAL_ENV, type Requirement } from "../config.ts";
import { buildOpenApiDocument, type Route } from "../openapi.ts";
import type { Database } from "../db.ts";
import type { Runtime } from "../runtime.ts";

export const OPENAPI_FUNCTION = "openapi";
/** The settings it cannot start without (config.ts REQUIREMENTS). */
export const OPENAPI_REQUIRES: readonly Requirement[] = ["supabaseUrl"];

/**
 * Every API function's routes, read from the Hono apps themselves. The apps are built only to list their
 * routes, never to serve: with the local placeholder settings (this function has not the others'
 * secrets) and a database that refuses to be used.
 */
function apiRoutes(): Route[] {
  // Whatever an app takes from these at construction, using it fails.
  const unusable = new Proxy({}, {
    get() {
      throw new Error("The openapi function reads routes only: it never queries");
    },
  }) as Database & postgres.Sql;
  const placeholder: Runtime = { config: loadConfig(LOCAL_ENV), db: unusable, sql: unusable };
  return Object.values(API_FUNCTIONS).flatMap(({ app }) =>
    app(placeholder).routes.filter((route) => route.method !== "ALL").map(({ method, path }) => ({
      method,
      path,
    }))
  );
}

/**
 * GET /openapi: the API's OpenAPI 3.1 document (JobMojito serves its own at the same path);
 * GET /openapi/reference: the same as an interactive reference page (Scalar).
 */
export function openapiApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(OPENAPI_FUNCTION, runtime.config);
  const document = buildOpenApiDocument(runtime.config, apiRoutes());
  app.get("/", (c) => c.json(document));
  app.get(
    "/reference",
    Scalar({
      content: document,
      pageTitle: "JobMojito-compatible registration API",
      cdn: runtime.config.apiReferenceScriptUrl,
    }),
  );
  return app;
}
