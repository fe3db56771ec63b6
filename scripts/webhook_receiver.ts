/**
 * A webhook receiver on loopback for the bench (scripts/bench_webhooks.ts): answers every POST with 204,
 * as a receiver that queues the event and answers at once would, and prints its URL on its first line.
 *
 *   deno run -A scripts/webhook_receiver.ts [--port 0]
 */
import { parseArgs } from "node:util";

const args = parseArgs({ args: Deno.args, options: { port: { type: "string", default: "0" } } });
let received = 0;
const server = Deno.serve(
  { hostname: "127.0.0.1", port: Number(args.values.port), onListen: () => {} },
  async (req) => {
    await req.arrayBuffer();
    received++;
    return new Response(null, { status: 204 });
  },
);
console.log(`http://127.0.0.1:${server.addr.port}/hooks`);
Deno.addSignalListener("SIGTERM", () => {
  console.error(`webhook receiver: ${received} requests`);
  server.shutdown();
});
await server.finished;
