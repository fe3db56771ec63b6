/**
 * Webhook dispatcher throughput: how many queued events per second the
 * dispatcher claims, checks, signs (Standard Webhooks), POSTs to a receiver
 * on loopback (scripts/webhook_receiver.ts, a process of its own, as a real
 * receiver would be) and records, against a real PostgreSQL.
 *
 * `deno task bench` calls benchWebhooks() on its database; run on its own,
 * `deno run -A scripts/bench_webhooks.ts [--deliveries 2000] [--json]` starts a
 * throwaway PostgreSQL with fsync on (durable commits, as in production).
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { timeDispatcherThreads } from "./bench_threads.ts";
import { freePort, prepareDatabase, REPO_ROOT } from "./local_db.ts";

export interface WebhookBenchOptions {
  /** A migrated database; the bench adds a merchant of its own and leaves its rows behind. */
  databaseUrl: string;
  /** Events queued and then delivered per run (default 2,000). */
  deliveries?: number;
  /** Dispatcher counts to measure (default [1, 4]), each in a thread of its own (scripts/bench_threads.ts). */
  dispatchers?: number[];
}

export interface WebhookBenchRun {
  dispatchers: number;
  /** Requests in flight per dispatcher. */
  concurrency: number;
  deliveries: number;
  seconds: number;
  deliveries_per_second: number;
}

const round = (value: number) => Math.round(value * 10) / 10;

/** The receiver as a separate process; resolves with its URL once it listens. */
async function spawnReceiver(): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/webhook_receiver.ts"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the webhook receiver did not start: ${output}`);
    output += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url: output.trim(),
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** A merchant with an endpoint at `url`, and `count` registrations: one registration.created each. */
async function queueEvents(sql: postgres.Sql, url: string, count: number): Promise<string> {
  const merchantId = crypto.randomUUID();
  const interviewId = crypto.randomUUID();
  const secret = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
  await sql`insert into merchants (id, name, interview_credits) values (${merchantId}, 'Bench Webhooks', ${count})`;
  await sql`insert into interviews (id, merchant_id, name, status) values (${interviewId}, ${merchantId}, 'Bench', 'active')`;
  const [{ id: endpointId }] = await sql`insert into webhook_endpoints (merchant_id, url, event_types, secret)
    values (${merchantId}, ${url}, ${["registration.created"]}, ${secret}) returning id`;
  for (let start = 0; start < count; start += 1000) {
    const users = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
      i,
      email: `hook-${start + i}-${merchantId.slice(0, 8)}@bench.example`,
    }));
    await sql`select app.register_users(null, ${merchantId}::uuid, ${interviewId}::uuid, false, false, false, false,
      now(), now() + interval '30 days', ${sql.json(users)}::jsonb)`;
  }
  return endpointId;
}

/** Queues `deliveries` events per run and times delivering all of them to a loopback receiver. */
export async function benchWebhooks(options: WebhookBenchOptions): Promise<WebhookBenchRun[]> {
  const deliveries = options.deliveries ?? 2000;
  const config = loadConfig({ ...LOCAL_ENV, DATABASE_URL: options.databaseUrl });
  const admin = postgres(options.databaseUrl, { max: 2, onnotice: () => {} });
  const receiver = await spawnReceiver();

  async function run(dispatchers: number, count: number): Promise<WebhookBenchRun> {
    const endpointId = await queueEvents(admin, receiver.url, count);
    const seconds = await timeDispatcherThreads(dispatchers, {
      channel: "webhook",
      databaseUrl: options.databaseUrl,
    });
    const [{ delivered }] = await admin`select count(*)::int as delivered from webhook_deliveries
      where endpoint_id = ${endpointId} and status = 'delivered'`;
    if (delivered !== count) throw new Error(`only ${delivered} of ${count} events were delivered`);
    return {
      dispatchers,
      concurrency: config.webhooks.concurrency,
      deliveries: count,
      seconds: round(seconds),
      deliveries_per_second: Math.round(count / seconds),
    };
  }

  try {
    // Warm-up (JIT, prepared statements, connections), not measured.
    await run(1, 200);
    const runs: WebhookBenchRun[] = [];
    for (const dispatchers of options.dispatchers ?? [1, 4]) runs.push(await run(dispatchers, deliveries));
    return runs;
  } finally {
    await receiver.stop();
    await admin.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: { deliveries: { type: "string", default: "2000" }, json: { type: "boolean" } },
  });
  const tempDir = await Deno.makeTempDir({ prefix: "jobmojito-bench-webhooks-" });
  const db = await prepareDatabase({
    dataDir: `${tempDir}/data`,
    port: freePort(),
    persistent: false,
    fast: false,
  });
  try {
    const runs = await benchWebhooks({ databaseUrl: db.url, deliveries: Number(args.values.deliveries) });
    console.log("webhook dispatcher into a loopback receiver (fsync on)");
    for (const run of runs) {
      console.log(
        `  ${run.dispatchers} dispatcher(s) x ${run.concurrency} requests: ${run.deliveries_per_second} deliveries/s ` +
          `(${run.deliveries} in ${run.seconds} s)`,
      );
    }
    if (args.values.json) console.log(JSON.stringify(runs));
  } finally {
    await db.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}
