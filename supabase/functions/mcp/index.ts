import { MCP_REQUIRES, mcpApp } from "../_shared/routes/mcp.ts";
import { serveFunction } from "../_shared/runtime.ts";

serveFunction(mcpApp, MCP_REQUIRES);
