/**
 * README "Webhooks, end to end", run as written against `deno task start` as a newcomer runs it, on a
 * database of its own (so no other test's endpoint or delivery is anywhere near it): its first block
 * registers an endpoint with one curl and starts scripts/verify_webhooks.ts on it, its second registers a
 * candidate, redeems the link and completes the interview; the receiver must print the three events, each
 * verified with the Standard Webhooks library. Only the ports are changed, so that the run can sit beside a
 * local stack.
 */
import assert from "node:assert/strict";
import { freePort, REPO_ROOT } from "../scripts/local_db.ts";
import { FREE_LOCAL_PORTS } from "../scripts/start.ts";
import { waitFor } from "./_support/email.ts";

/** The shell blocks of the README's walkthrough, in order. */
async function walkthroughBlocks(): Promise<string[]> {
  const readme = await Deno.readTextFile(`${REPO_ROOT}/README.md`);
  const section = readme.split("\n### Webhooks, end to end\n")[1]?.split("\n## ")[0];
  assert.ok(section, "README has the section");
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]);
}

/** A process whose output is collected as it comes; it runs in its own process group, like a terminal's job. */
function spawn(args: string[], env?: Record<string, string>) {
  const child = new Deno.Command(args[0], {
    args: args.slice(1),
    cwd: REPO_ROOT,
    ...(env ? { env, clearEnv: true } : {}),
    detached: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = { text: "", exited: false };
  const read = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output.text += chunk;
  };
  const reading = Promise.all([read(child.stdout), read(child.stderr)]);
  child.status.then(() => output.exited = true);
  return {
    output,
    async stop(signal: Deno.Signal = "SIGINT") {
      if (!output.exited) {
        try {
          Deno.kill(-child.pid, signal);
        } catch {
          // Already gone.
        }
      }
      await child.status;
      await reading;
    },
  };
}

Deno.test("README's webhook walkthrough: one curl, a candidate, three signed events verified", async () => {
  const [receiverBlock, candidateBlock] = await walkthroughBlocks();
  assert.ok(receiverBlock && candidateBlock, "two shell blocks");
  const apiPort = freePort();
  const receiverPort = freePort();
  const local = (block: string) =>
    block.replaceAll("127.0.0.1:54321", `127.0.0.1:${apiPort}`).replaceAll("8787", String(receiverPort));

  // Its own embedded database, as without SUPABASE_DB_URL: fresh, migrated and seeded.
  const dataDir = await Deno.makeTempDir({ prefix: "webhook-walkthrough-" });
  const env = Deno.env.toObject();
  delete env.DATABASE_URL;
  delete env.SUPABASE_DB_URL;
  const stack = spawn([
    Deno.execPath(),
    "task",
    "start",
    "--port",
    String(apiPort),
    "--db-port",
    String(freePort()),
    "--data-dir",
    dataDir,
    ...FREE_LOCAL_PORTS,
  ], env);
  let receiver: ReturnType<typeof spawn> | undefined;
  try {
    await waitFor("deno task start", () => {
      if (stack.output.exited) throw new Error(`deno task start exited:\n${stack.output.text}`);
      return stack.output.text.includes("Ctrl-C stops everything.");
    }, 60_000);

    receiver = spawn(["bash", "-c", local(receiverBlock)]);
    await waitFor("the receiver", () => {
      if (receiver!.output.exited) throw new Error(`the receiver exited:\n${receiver!.output.text}`);
      return receiver!.output.text.includes("listening on");
    }, 30_000);

    const run = await new Deno.Command("bash", { args: ["-c", local(candidateBlock)], stdout: "piped" })
      .output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stdout));
    assert.match(new TextDecoder().decode(run.stdout), /"status":"completed"/);

    const ours = () => receiver!.output.text.split("\n").filter((line) => line.startsWith("verified "));
    await waitFor("three verified events", () => ours().length >= 3, 60_000);
    assert.deepEqual(
      ours().map((line) => line.split(" ")[1]),
      ["registration.created", "registration.started", "registration.completed"],
      receiver.output.text,
    );
    assert.doesNotMatch(receiver.output.text, /REFUSED/);
    assert.ok(ours().every((line) => line.includes('"email":"hook@example.com"')), receiver.output.text);
    const ids = ours().map((line) => line.match(/webhook-id=(\S+)/)![1]);
    assert.equal(new Set(ids).size, 3, "three events, each its own webhook-id");
  } finally {
    await receiver?.stop("SIGTERM");
    await stack.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
