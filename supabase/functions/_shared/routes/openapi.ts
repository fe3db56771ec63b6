import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import { buildOpenApiDocument } from "../openapi.ts";
import type { Runtime } from "../runtime.ts";

export const OPENAPI_FUNCTION = "openapi";

/** GET /openapi: the API's OpenAPI 3.1 document (JobMojito serves its own at the same path). */
export function openapiApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(OPENAPI_FUNCTION, runtime.config);
  const document = buildOpenApiDocument(runtime.config);
  app.get("/", (c) => c.json(document));
  return app;
}
