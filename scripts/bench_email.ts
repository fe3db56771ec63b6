/**
 * Dispatcher throughput: how many queued invitations per second the
 * dispatcher renders (link minted again, Liquid templates), sends over SMTP
 * into the local mail catcher on loopback and records, against a real
 * PostgreSQL.
 *
 * `deno task bench` calls benchDispatcher() on its database; run on its own,
 * `deno run -A scripts/bench_email.ts [--messages 2000] [--json]` starts a
 * throwaway PostgreSQL with fsync on (durable commits, as in production).
 * The SMTP server (the mail catcher, in a process of its own, as a real server
 * would be), the database and the dispatchers share the machine.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { loadConfig, LOCAL_ENV } from "../supabase/functions/_shared/config.ts";
import { timeDispatcherThreads } from "./bench_threads.ts";
import { freePort, prepareDatabase, REPO_ROOT } from "./local_db.ts";

export interface DispatcherBenchOptions {
  /** A migrated database; the bench adds a merchant of its own and leaves its rows behind. */
  databaseUrl: string;
  /** Invitations queued and then dispatched (default 2,000). */
  messages?: number;
  /**
   * Dispatcher counts to measure (default [1, 4]), each in a thread of its own with its own pool and SMTP
   * connections, as separate dispatcher processes would run.
   */
  dispatchers?: number[];
}

export interface DispatcherBenchRun {
  dispatchers: number;
  /** SMTP connections (messages in flight) per dispatcher. */
  concurrency: number;
  messages: number;
  seconds: number;
  messages_per_second: number;
}

const round = (value: number) => Math.round(value * 10) / 10;

/** The mail catcher as a separate process on a free loopback port; resolves once it listens. */
async function spawnMailCatcher(): Promise<{ smtpUrl: string; stop(): Promise<void> }> {
  const smtpPort = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/mail_catcher.ts", "--smtp-port", String(smtpPort), "--http-port", "0"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the mail catcher did not start: ${output}`);
    output += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    smtpUrl: `smtp://127.0.0.1:${smtpPort}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function queueInvitations(sql: postgres.Sql, count: number): Promise<string> {
  const merchantId = crypto.randomUUID();
  const interviewId = crypto.randomUUID();
  await sql`insert into merchants (id, name, interview_credits, email_from_name, email_reply_to)
    values (${merchantId}, 'Bench Recruiting', ${count}, 'Bench Talent', 'talent@bench.example')`;
  await sql`insert into interviews (id, merchant_id, name, status) values (${interviewId}, ${merchantId}, 'Bench', 'active')`;
  for (let start = 0; start < count; start += 1000) {
    const users = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({
      i,
      email: `bench-${start + i}-${merchantId.slice(0, 8)}@bench.example`,
      name: `Bench Candidate ${start + i}`,
    }));
    await sql`select app.register_users(null, ${merchantId}::uuid, ${interviewId}::uuid, false, true, false, false,
      now(), now() + interval '30 days', ${sql.json(users)}::jsonb)`;
  }
  return merchantId;
}

/** Queues `messages` invitations per run and times dispatching all of them into a local SMTP server. */
export async function benchDispatcher(options: DispatcherBenchOptions): Promise<DispatcherBenchRun[]> {
  const messages = options.messages ?? 2000;
  const config = loadConfig({
    ...LOCAL_ENV,
    DATABASE_URL: options.databaseUrl,
    EMAIL_FROM_ADDRESS: "no-reply@bench.example",
  });
  const admin = postgres(options.databaseUrl, { max: 2, onnotice: () => {} });
  const catcher = await spawnMailCatcher();
  const settings = { ...config.email, smtpUrl: catcher.smtpUrl };

  /** Runs `dispatchers` dispatchers, each in a thread of its own (scripts/bench_threads.ts). */
  async function run(dispatchers: number, count: number): Promise<DispatcherBenchRun> {
    const merchantId = await queueInvitations(admin, count);
    const seconds = await timeDispatcherThreads(dispatchers, {
      channel: "email",
      databaseUrl: options.databaseUrl,
      smtpUrl: settings.smtpUrl,
    });
    const [{ sent }] = await admin`select count(*)::int as sent from email_outbox
      where merchant_id = ${merchantId} and kind = 'invitation' and status = 'sent'`;
    if (sent !== count) throw new Error(`only ${sent} of ${count} invitations were sent`);
    return {
      dispatchers,
      concurrency: settings.concurrency,
      messages: count,
      seconds: round(seconds),
      messages_per_second: Math.round(count / seconds),
    };
  }

  try {
    // Warm-up (JIT, prepared statements, parsed templates, SMTP connections), not measured.
    await run(1, 200);
    const runs: DispatcherBenchRun[] = [];
    for (const dispatchers of options.dispatchers ?? [1, 4]) runs.push(await run(dispatchers, messages));
    return runs;
  } finally {
    await catcher.stop();
    await admin.end({ timeout: 5 });
  }
}

if (import.meta.main) {
  const args = parseArgs({
    args: Deno.args,
    options: { messages: { type: "string", default: "2000" }, json: { type: "boolean" } },
  });
  const tempDir = await Deno.makeTempDir({ prefix: "jobmojito-bench-email-" });
  const db = await prepareDatabase({
    dataDir: `${tempDir}/data`,
    port: freePort(),
    persistent: false,
    fast: false,
  });
  try {
    const runs = await benchDispatcher({ databaseUrl: db.url, messages: Number(args.values.messages) });
    console.log("email dispatcher into a local SMTP server (fsync on)");
    for (const run of runs) {
      console.log(
        `  ${run.dispatchers} dispatcher(s) x ${run.concurrency} connections: ${run.messages_per_second} messages/s ` +
          `(${run.messages} in ${run.seconds} s)`,
      );
    }
    if (args.values.json) console.log(JSON.stringify(runs));
  } finally {
    await db.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}
