import { mcpApp } from "../_shared/routes/mcp.ts";
import { createRuntime } from "../_shared/runtime.ts";

Deno.serve(mcpApp(createRuntime()).fetch);
