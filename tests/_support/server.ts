/**
 * The API on a free port, against the test database (DATABASE_URL /
 * SUPABASE_DB_URL, which `deno task test` sets; without it, the local
 * database `deno task start` / `deno task db` runs on port 54322).
 *
 *   const server = await startTestServer({ maxUsersPerRequest: 5 });
 *   try {
 *     const res = await fetch(`${server.functionsUrl}/openapi`);
 *   } finally {
 *     await server.close();
 *   }
 *
 * or `await using server = await startTestServer();`. A server for every test of a file:
 * `fileServer` (tests/_support/suite.ts).
 */
import { type Config, loadConfig, LOCAL_ENV } from "../../supabase/functions/_shared/config.ts";
import { createRuntime, type Runtime } from "../../supabase/functions/_shared/runtime.ts";
import { type Gateway, serveGateway } from "../../scripts/gateway.ts";

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  baseUrl: string;
  /** e.g. http://127.0.0.1:41234/functions/v1 */
  functionsUrl: string;
  /** The config and database pool the functions use (query the database through `runtime.sql`). */
  runtime: Runtime;
  gateway: Gateway;
  /** Stops the server (waiting for in-flight requests) and closes the pool. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startTestServer(overrides: Partial<Config> = {}): Promise<TestServer> {
  // Always local: the tests sign with the published local secrets.
  const runtime = createRuntime({ ...loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV }), ...overrides });
  let gateway: Gateway;
  try {
    gateway = serveGateway({ runtime, port: 0, hostname: "127.0.0.1" });
  } catch (err) {
    await runtime.sql.end({ timeout: 1 });
    throw err;
  }
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      try {
        await gateway.shutdown();
      } finally {
        await runtime.sql.end({ timeout: 5 });
      }
    })();
  return {
    baseUrl: gateway.baseUrl,
    functionsUrl: gateway.functionsUrl,
    runtime,
    gateway,
    close,
    [Symbol.asyncDispose]: close,
  };
}
