import type { Hono } from "hono";
import type { AppEnv } from "./app.ts";
import { API_FUNCTIONS, type FunctionDefinition } from "./api_functions.ts";
import type { Runtime } from "./runtime.ts";
import { OPENAPI_REQUIRES, openapiApp } from "./routes/openapi.ts";
import { MCP_REQUIRES, mcpApp } from "./routes/mcp.ts";

/** Every edge function, with what it requires: the API's (api_functions.ts), `openapi` and `mcp`. */
export const FUNCTION_DEFINITIONS: Record<string, FunctionDefinition> = {
  ...API_FUNCTIONS,
  "openapi": { app: openapiApp, requires: OPENAPI_REQUIRES },
  "mcp": { app: mcpApp, requires: MCP_REQUIRES },
};

/**
 * Every edge function by name. Each `supabase/functions/<name>/index.ts` serves
 * one of these; the local gateway mounts them all at `/functions/v1/<name>`.
 */
export const FUNCTIONS: Record<string, (runtime: Runtime) => Hono<AppEnv>> = Object.fromEntries(
  Object.entries(FUNCTION_DEFINITIONS).map(([name, definition]) => [name, definition.app]),
);
