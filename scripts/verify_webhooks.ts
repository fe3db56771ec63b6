/**
 * A receiver for trying webhooks locally (README "Webhooks, end to end"): it verifies every delivery with
 * the Standard Webhooks library, as an integrator's receiver would, prints it, and answers
 * 204 (or 400 to a request whose signature does not verify, so it is retried and shows as failing).
 *
 *   curl -sS -X POST $FN/webhook-endpoints … | deno run -A scripts/verify_webhooks.ts --port 8787
 *
 * The signing secret comes from the endpoint's creation answer on stdin (its `secret`, shown only there),
 * or from --secret. It listens on 127.0.0.1 only.
 */
import { parseArgs } from "node:util";
import { Webhook } from "standardwebhooks";

const { values } = parseArgs({
  args: Deno.args,
  options: { port: { type: "string", default: "8787" }, secret: { type: "string" } },
});

/** The endpoint's creation answer, piped in: its id and secret. */
async function createdEndpoint(): Promise<{ id?: string; secret: string }> {
  if (values.secret) return { secret: values.secret };
  const text = await new Response(Deno.stdin.readable).text();
  let answer: { id?: string; secret?: string; error?: string };
  try {
    answer = JSON.parse(text);
  } catch {
    throw new Error(`Expected the endpoint's creation answer (JSON) on stdin, got: ${text.slice(0, 200)}`);
  }
  if (!answer.secret) throw new Error(`The endpoint was not created: ${text.slice(0, 500)}`);
  return answer as { id?: string; secret: string };
}

const endpoint = await createdEndpoint();
const webhook = new Webhook(endpoint.secret);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(values.port),
  onListen: ({ hostname, port }) =>
    console.log(
      `endpoint ${
        endpoint.id ?? "(secret given)"
      }: listening on http://${hostname}:${port}/, verifying each ` +
        "delivery with the Standard Webhooks library",
    ),
}, async (request) => {
  const body = await request.text();
  const id = request.headers.get("webhook-id") ?? "(no webhook-id)";
  try {
    const event = webhook.verify(body, Object.fromEntries(request.headers)) as {
      type: string;
      timestamp: string;
      data: Record<string, unknown>;
    };
    console.log(`verified ${event.type} webhook-id=${id} ${JSON.stringify(event.data)}`);
    return new Response(null, { status: 204 });
  } catch (err) {
    console.log(`REFUSED webhook-id=${id}: ${(err as Error).message}`);
    return new Response("signature does not verify", { status: 400 });
  }
});

Deno.addSignalListener("SIGINT", () => server.shutdown());
await server.finished;
