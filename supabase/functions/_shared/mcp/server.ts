/**
 * The MCP server (Streamable HTTP, stateless): every POST is answered by a server and transport of its own,
 * so any instance answers any request, as edge functions require. The SDK's low-level `Server` handles the
 * protocol (initialize, version negotiation, JSON-RPC); its `McpServer` would validate a call's arguments with
 * the tool's zod schema before the tool runs, refusing a whole call for one bad row and in words of its own,
 * where the HTTP API fails that row alone. Here the operation validates, exactly as the endpoint does.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { accessLogLevel, failureOf, refusalOf } from "../app.ts";
import { createAuthenticator } from "../auth.ts";
import { log } from "../log.ts";
import { jsonSchema } from "../openapi.ts";
import { refuseDeepNesting } from "../request_body.ts";
import type { Runtime } from "../runtime.ts";
import { MCP_TOOLS } from "./tools.ts";

const SERVER_INFO = {
  name: "jobmojito-registration",
  title: "JobMojito-compatible registration",
  version: "1.0.0",
};

const INSTRUCTIONS = "Registers candidates for interviews and invites people to a merchant, with the same " +
  "credential, rules and answers as the HTTP API (a merchant API key jmk_... or a user JWT in Authorization: " +
  "Bearer). Tools that register candidates spend the merchant's interview credits and may email people: " +
  "confirm with the user before calling them. Errors carry the HTTP API's message and status; a status of 503 " +
  "means retry after retry_after_seconds.";

/** Each tool as `tools/list` gives it: input and output schemas generated as the OpenAPI document's are. */
function listedTools(runtime: Runtime): Tool[] {
  return MCP_TOOLS.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: jsonSchema(tool.input(runtime.config)) as Tool["inputSchema"],
    outputSchema: jsonSchema(
      tool.resultKey ? z.object({ [tool.resultKey]: tool.output }) : tool.output,
    ) as Tool["outputSchema"],
    annotations: tool.annotations,
  }));
}

/**
 * A handler for the MCP function's POSTs. A tool call authenticates the HTTP request's credential with the
 * API's authenticator and runs its endpoint's operation under the request's deadline; any failure is a tool
 * error (`isError`) whose text is the HTTP API's error body plus its status, never a protocol error.
 */
export function createMcpHandler(runtime: Runtime) {
  const authenticate = createAuthenticator(runtime.config);
  const tools = new Map(MCP_TOOLS.map((tool) => [tool.name, { tool, run: tool.operation(runtime) }]));
  const listed = { tools: listedTools(runtime) };

  async function callTool(
    name: string,
    args: Record<string, unknown>,
    headers: Headers,
    deadline: number,
    requestId: string,
  ): Promise<CallToolResult> {
    const entry = tools.get(name);
    if (!entry) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${name}`);
    const started = performance.now();
    let result: CallToolResult;
    let status = 200;
    let refusal: string | undefined;
    try {
      const caller = await authenticate(headers);
      refuseDeepNesting(args);
      // No Idempotency-Key: the client's headers are its connection's, the same for every call.
      const { answer } = await entry.run(caller, args, { deadline, headers: new Headers() });
      const structured = entry.tool.resultKey
        ? { [entry.tool.resultKey]: answer }
        : answer as Record<string, unknown>;
      result = {
        structuredContent: structured,
        content: [{ type: "text", text: JSON.stringify(structured) }],
      };
    } catch (err) {
      const failure = failureOf(err, requestId);
      status = failure.error.status;
      if (status < 500) refusal = refusalOf(failure.error);
      const retryAfter = failure.error.headers["Retry-After"];
      const body = {
        ...failure.error.body(),
        status,
        ...(retryAfter ? { retry_after_seconds: Number(retryAfter) } : {}),
        ...(failure.requestId ? { request_id: failure.requestId } : {}),
      };
      result = { isError: true, content: [{ type: "text", text: JSON.stringify(body) }] };
    }
    // Logged as the access log logs a request: faults and refusals always, successes sampled.
    const level = accessLogLevel(status, false, runtime.config.logRequestSampleRate);
    if (level) {
      log(level, "mcp tool call", {
        request_id: requestId,
        tool: name,
        status,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        ...(refusal ? { reason: refusal } : {}),
      });
    }
    return result;
  }

  return async (request: Request, deadline: number, requestId: string): Promise<Response> => {
    const server = new Server(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
    server.setRequestHandler(ListToolsRequestSchema, () => listed);
    server.setRequestHandler(
      CallToolRequestSchema,
      (call: CallToolRequest) =>
        callTool(call.params.name, call.params.arguments ?? {}, request.headers, deadline, requestId),
    );
    // No session id: stateless. JSON answers rather than an SSE stream: every call is one statement, answered
    // as a whole, and an edge function should not hold a stream open.
    const transport = new WebStandardStreamableHTTPServerTransport({
      enableJsonResponse: true,
      maxRequestBodySize: runtime.config.maxBodyBytes,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request);
    } finally {
      await server.close();
    }
  };
}
