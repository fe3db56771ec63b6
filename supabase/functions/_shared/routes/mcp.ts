import type { Hono } from "hono";
import { type AppEnv, createFunctionApp } from "../app.ts";
import type { Requirement } from "../config.ts";
import { createMcpHandler } from "../mcp/server.ts";
import { MCP_TOOLS } from "../mcp/tools.ts";
import type { Runtime } from "../runtime.ts";

export const MCP_FUNCTION = "mcp";
/** The settings it cannot start without: every tool's endpoint's. */
export const MCP_REQUIRES: readonly Requirement[] = [...new Set(MCP_TOOLS.flatMap((tool) => tool.requires))];

/**
 * POST /mcp: the API as MCP tools over Streamable HTTP, stateless (docs/mcp.md). GET (a server-sent event
 * stream) and DELETE (ending a session) are 405: a stateless server has neither to offer.
 */
export function mcpApp(runtime: Runtime): Hono<AppEnv> {
  const app = createFunctionApp(MCP_FUNCTION, runtime.config);
  const handle = createMcpHandler(runtime);
  app.post("/", (c) => handle(c.req.raw, c.get("deadline"), c.get("requestId")));
  return app;
}
