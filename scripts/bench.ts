/**
 * `deno task bench [--json] [--quick]`: the API's performance figures, over
 * real HTTP against a real PostgreSQL.
 *
 * Starts a throwaway embedded PostgreSQL with fsync on (durable commits, as
 * in production), runs `scripts/start.ts` against it as a separate process,
 * and measures from this process:
 *   - register batches of 1, 100 and 1,000 users: p50 / p95 latency;
 *   - the API server's peak RSS while it serves ten 1,000-user batches at once (from /proc);
 *   - single-user registrations by credential (user JWT, merchant API key, service key), interleaved:
 *     p50 latency and the API key's ratio to the JWT (the key is checked in the registration's own call);
 *   - single-user registrations at 32, 64 and 256 concurrent connections:
 *     requests per second, p99 latency, and the CPU each request cost the
 *     load generator, the API server and PostgreSQL (from /proc); each as a
 *     ratio to the hot-row reference measured just before it with the same
 *     load generator (scripts/bench_reference.ts: a minimal Hono server doing
 *     one write transaction on one hot row per request);
 *   - a per-row baseline on the same database: the same 1,000 users written
 *     the naive way, one transaction per user, and the ratio to the batch;
 *   - the email dispatcher: invitations per second into a loopback SMTP
 *     server (scripts/bench_email.ts);
 *   - the webhook dispatcher: signed deliveries per second into a loopback
 *     receiver (scripts/bench_webhooks.ts).
 * `--json` also prints every figure as one JSON object on the last line; `--db-pool N` sets the API's
 * database pool (default 4).
 * The load generator shares the machine with the server and the database.
 */
import { cpuUsage } from "node:process";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { freePort, prepareDatabase, REPO_ROOT } from "./local_db.ts";
import { signUserToken } from "./user_token.ts";
import { FREE_LOCAL_PORTS } from "./start.ts";
import { benchDispatcher } from "./bench_email.ts";
import { benchWebhooks } from "./bench_webhooks.ts";
import { startHotRowReference } from "./bench_reference.ts";
import { LOCAL_ENV, LOCAL_JWT_SECRET, LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    json: { type: "boolean" },
    quick: { type: "boolean" },
    // The API's database pool. On this 2-core machine, shared by the database, the API and the load
    // generator, more connections than about twice the cores only add contention (README "Benchmark").
    "db-pool": { type: "string", default: "4" },
  },
});
const quick = args.values.quick ?? false;

/** CPU seconds (user + system) a process has used so far, from /proc; 0 where there is none. */
function cpuSeconds(pid: number): number {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds of a PostgreSQL server: its postmaster and every backend and worker it forked. */
function postgresCpuSeconds(postmasterPid: number): number {
  let total = cpuSeconds(postmasterPid);
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const parent = Number(Deno.readTextFileSync(`/proc/${entry.name}/stat`).split(") ")[1].split(" ")[1]);
      if (parent === postmasterPid) total += cpuSeconds(Number(entry.name));
    } catch { /* exited meanwhile */ }
  }
  return total;
}

/**
 * Where the CPU goes: this process (the load generator), the server (the API, or the reference) and PostgreSQL (NaN for an
 * external database, whose processes are not ours to read).
 */
function cpuSnapshot(serverPid: number, postmasterPid: number | undefined) {
  const own = cpuUsage();
  return {
    loadGenerator: (own.user + own.system) / 1e6,
    server: cpuSeconds(serverPid),
    postgres: postmasterPid === undefined ? NaN : postgresCpuSeconds(postmasterPid),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
const round = (value: number) => Math.round(value * 10) / 10;

async function waitForServer(url: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  let exited = false;
  child.status.then(() => exited = true);
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the server at ${url} did not come up`);
}

/** A merchant of the bench's own with credits to burn, its owner and an active interview. */
async function benchMerchant(sql: postgres.Sql) {
  const merchantId = crypto.randomUUID();
  const ownerId = crypto.randomUUID();
  const interviewId = crypto.randomUUID();
  await sql.begin(async (tx) => {
    await tx`insert into merchants (id, name, interview_credits) values (${merchantId}, 'Bench', 1000000000)`;
    await tx`insert into accounts (id, email, home_merchant_id) values (${ownerId}, ${`bench-${ownerId}@bench.example`}, ${merchantId})`;
    await tx`insert into merchant_members (account_id, merchant_id, role) values (${ownerId}, ${merchantId}, 'merchant_owner')`;
    await tx`insert into interviews (id, merchant_id, name, status) values (${interviewId}, ${merchantId}, 'Bench', 'active')`;
  });
  return { merchantId, ownerId, interviewId };
}

let emailCounter = 0;
const users = (n: number) =>
  Array.from(
    { length: n },
    () => ({
      name: "Bench Candidate",
      email: `c${++emailCounter}-${crypto.randomUUID().slice(0, 8)}@bench.example`,
    }),
  );

/** One registration request of n fresh users; its latency in ms. Any row not ok fails the bench. */
async function register(
  endpoint: string,
  headers: Record<string, string>,
  interviewId: string,
  n: number,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const body = JSON.stringify({ interview_id: interviewId, type: "url", users: users(n), ...extra });
  const started = performance.now();
  const res = await fetch(endpoint, { method: "POST", headers, body });
  const rows = await res.json();
  const elapsed = performance.now() - started;
  if (res.status !== 200 || rows.length !== n || rows.some((r: { result: string }) => r.result !== "ok")) {
    throw new Error(`bench request failed: ${res.status} ${JSON.stringify(rows).slice(0, 300)}`);
  }
  return elapsed;
}

/** A process's resident memory now and its peak so far (VmRSS, VmHWM), in MB, from /proc. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const mb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1]) / 1024;
  return { rss: mb("VmRSS"), peak: mb("VmHWM") };
}

/**
 * The API server's peak resident memory while it serves `concurrent` requests at once (`send`), `rounds`
 * times over: its high-water mark, reset just before through /proc/<pid>/clear_refs, and VmRSS sampled
 * every 5 ms meanwhile (all there is where the reset is refused); the requests' p50 latency.
 */
async function peakRss(pid: number, send: () => Promise<number>, concurrent: number, rounds: number) {
  let reset = true;
  try {
    Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    reset = false;
  }
  const before = memoryMb(pid).rss;
  let sampled = before;
  const sampler = setInterval(() => sampled = Math.max(sampled, memoryMb(pid).rss), 5);
  const times: number[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      times.push(...await Promise.all(Array.from({ length: concurrent }, send)));
    }
  } finally {
    clearInterval(sampler);
  }
  const peak = reset ? Math.max(sampled, memoryMb(pid).peak) : sampled;
  return {
    concurrent,
    rounds,
    rss_before_mb: Math.round(before),
    peak_rss_mb: Math.round(peak),
    p50_ms: round(percentile(times.sort((a, b) => a - b), 50)),
  };
}

/**
 * One single-user registration as an MCP client sends it (a JSON-RPC tools/call to the stateless server, no
 * session); its latency in ms. Anything but an ok row fails the bench.
 */
async function registerByMcp(url: string, key: string, interviewId: string): Promise<number> {
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: {
      name: "register_users_for_interview",
      arguments: { interview_id: interviewId, users: users(1) },
    },
  });
  const headers = {
    authorization: `Bearer ${key}`,
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "mcp-protocol-version": LATEST_PROTOCOL_VERSION,
  };
  const started = performance.now();
  const res = await fetch(url, { method: "POST", headers, body });
  const reply = await res.json();
  const elapsed = performance.now() - started;
  if (res.status !== 200 || reply.result?.structuredContent?.users?.[0]?.result !== "ok") {
    throw new Error(`bench MCP call failed: ${res.status} ${JSON.stringify(reply).slice(0, 300)}`);
  }
  return elapsed;
}

interface LoadFigures {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  cpu_ms_per_request: { load_generator: number; server: number; postgres: number };
  cpu_busy_percent: number;
}

/**
 * `connections` clients sending `send` back to back for `durationMs`: throughput, latency, and the CPU
 * each request cost the load generator, the server (`serverPid`) and PostgreSQL, from /proc.
 */
async function load(
  connections: number,
  durationMs: number,
  send: () => Promise<number>,
  serverPid: number,
  postmasterPid: number | undefined,
): Promise<LoadFigures> {
  const times: number[] = [];
  const cpuBefore = cpuSnapshot(serverPid, postmasterPid);
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() - started < durationMs) times.push(await send());
  }));
  const elapsed = performance.now() - started;
  const cpuAfter = cpuSnapshot(serverPid, postmasterPid);
  const perRequest = (key: keyof typeof cpuBefore) =>
    Math.round((cpuAfter[key] - cpuBefore[key]) / times.length * 1e6) / 1000;
  const cpu = {
    load_generator: perRequest("loadGenerator"),
    server: perRequest("server"),
    postgres: perRequest("postgres"),
  };
  times.sort((a, b) => a - b);
  return {
    requests: times.length,
    rps: Math.round(times.length / (elapsed / 1000)),
    p50_ms: round(percentile(times, 50)),
    p99_ms: round(percentile(times, 99)),
    cpu_ms_per_request: cpu,
    cpu_busy_percent: Math.round(
      (cpu.load_generator + cpu.server + (cpu.postgres || 0)) * times.length / elapsed /
        navigator.hardwareConcurrency * 100,
    ),
  };
}

async function main() {
  const tempDir = await Deno.makeTempDir({ prefix: "jobmojito-bench-" });
  const db = await prepareDatabase({
    dataDir: `${tempDir}/data`,
    port: freePort(),
    persistent: false,
    fast: false,
  });
  const apiPort = freePort();
  const referencePort = freePort();
  const server = new Deno.Command(Deno.execPath(), {
    // Free ports for everything: the bench runs beside a local stack.
    args: ["run", "-A", "scripts/start.ts", "--port", String(apiPort), ...FREE_LOCAL_PORTS],
    cwd: REPO_ROOT,
    // Local whatever the shell says: the bench signs its tokens with the published local JWT secret.
    env: { ...LOCAL_ENV, DATABASE_URL: db.url, DB_POOL_SIZE: args.values["db-pool"] },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const sql = postgres(db.url, { max: 4, onnotice: () => {} });
  try {
    const functionsUrl = `http://127.0.0.1:${apiPort}/functions/v1`;
    await waitForServer(`${functionsUrl}/openapi`, server);
    const merchant = await benchMerchant(sql);
    const token = await signUserToken(LOCAL_JWT_SECRET, merchant.ownerId, { expiresIn: 24 * 3600 });
    const endpoint = `${functionsUrl}/job-interview-register-users`;
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };

    const registerOnce = (n: number) => register(endpoint, headers, merchant.interviewId, n);

    // Warm up connections, prepared statements and the JIT, then refresh the
    // planner's statistics: a live database has them (autovacuum analyzes
    // within its first minute), and plans cached while these tables were
    // empty would measure that cold start rather than the API.
    for (let i = 0; i < 40; i++) await registerOnce(i % 2 ? 100 : 1);
    await sql`analyze`;
    for (let i = 0; i < 20; i++) await registerOnce(i % 2 ? 100 : 1);

    const batches: Record<string, { requests: number; p50_ms: number; p95_ms: number }> = {};
    for (const [size, requests] of [[1, quick ? 50 : 300], [100, quick ? 15 : 60], [1000, quick ? 10 : 40]]) {
      const times: number[] = [];
      for (let i = 0; i < requests; i++) times.push(await registerOnce(size));
      times.sort((a, b) => a - b);
      batches[String(size)] = {
        requests,
        p50_ms: round(percentile(times, 50)),
        p95_ms: round(percentile(times, 95)),
      };
    }

    // What serving ten 1,000-user batches at once holds in memory: request bodies, rows, links, answers.
    const memory = await peakRss(server.pid, () => registerOnce(1000), 10, quick ? 2 : 5);

    // One request per credential in turn, so drift in the machine's load hits them alike.
    const created = await fetch(`${functionsUrl}/api-keys`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "bench" }),
    });
    const { key } = await created.json();
    if (created.status !== 201) throw new Error(`creating the bench's API key failed: ${created.status}`);
    const credentialHeaders: Record<string, Record<string, string>> = {
      jwt: headers,
      api_key: { "x-api-key": key, "content-type": "application/json" },
      service_key: { apikey: LOCAL_SECRET_KEY, "content-type": "application/json" },
    };
    const credentialTimes: Record<string, number[]> = {
      jwt: [],
      api_key: [],
      service_key: [],
      mcp_api_key: [],
    };
    for (let i = 0; i < (quick ? 50 : 300); i++) {
      for (const [name, credentialHeader] of Object.entries(credentialHeaders)) {
        const body = name === "service_key" ? { merchant_id: merchant.merchantId } : {};
        credentialTimes[name].push(
          await register(endpoint, credentialHeader, merchant.interviewId, 1, body),
        );
      }
      credentialTimes.mcp_api_key.push(await registerByMcp(`${functionsUrl}/mcp`, key, merchant.interviewId));
    }
    const credentials = Object.fromEntries(
      Object.entries(credentialTimes).map((
        [name, times],
      ) => [name, round(percentile(times.sort((a, b) => a - b), 50))]),
    );

    // What an Idempotency-Key costs: a first request (the key claimed and its answer stored in the same
    // statement) and its replay (the stored answer, nothing run), against the same request without a key.
    const keyTimes: Record<string, number[]> = { first: [], replay: [] };
    for (let i = 0; i < (quick ? 50 : 300); i++) {
      const body = JSON.stringify({ interview_id: merchant.interviewId, type: "url", users: users(1) });
      const keyed = { ...headers, "Idempotency-Key": crypto.randomUUID() };
      for (const attempt of ["first", "replay"]) {
        const started = performance.now();
        const res = await fetch(endpoint, { method: "POST", headers: keyed, body });
        const rows = await res.json();
        keyTimes[attempt].push(performance.now() - started);
        if (res.status !== 200 || rows[0]?.result !== "ok") {
          throw new Error(`keyed request failed: ${res.status}`);
        }
        if ((res.headers.get("idempotent-replayed") === "true") !== (attempt === "replay")) {
          throw new Error(`the ${attempt} keyed request was answered as the other`);
        }
      }
    }
    const idempotency = Object.fromEntries(
      Object.entries(keyTimes).map((
        [name, times],
      ) => [name, round(percentile(times.sort((a, b) => a - b), 50))]),
    );

    // The batches grew the tables twentyfold in seconds; autovacuum would analyze them within a minute.
    // Without it, plans cached on the connections the batches used stay those of the smaller tables.
    await sql`analyze`;
    // Each connection count runs the hot-row reference, then the registrations, so drift in the machine's
    // load hits both alike; the ratio is ours to the reference's.
    const reference = await startHotRowReference(db.url, referencePort, Number(args.values["db-pool"]));
    const referenceUrl = `http://127.0.0.1:${referencePort}/`;
    const referenceOnce = async () => {
      const body = JSON.stringify({ interview_id: merchant.interviewId, type: "url", users: users(1) });
      const started = performance.now();
      const res = await fetch(referenceUrl, { method: "POST", headers, body });
      await res.json();
      if (res.status !== 200) throw new Error(`the reference answered ${res.status}`);
      return performance.now() - started;
    };
    const concurrency: Record<string, LoadFigures & { vs_reference: number }> = {};
    const hotRowReference: Record<string, LoadFigures> = {};
    try {
      for (const connections of [32, 64, 256]) {
        const durationMs = quick ? 3000 : 10_000;
        hotRowReference[String(connections)] = await load(
          connections,
          durationMs,
          referenceOnce,
          reference.pid,
          db.server?.pid,
        );
        const ours = await load(connections, durationMs, () => registerOnce(1), server.pid, db.server?.pid);
        concurrency[String(connections)] = {
          ...ours,
          vs_reference: Math.round(ours.rps / hotRowReference[String(connections)].rps * 100) / 100,
        };
      }
    } finally {
      reference.kill("SIGTERM");
      await reference.status;
    }

    // The naive way: one transaction per user, four statements each, no HTTP
    // and no token minting (both would only add to it).
    const baselineUsers = users(1000);
    const baselineStarted = performance.now();
    for (const user of baselineUsers) {
      await sql.begin(async (tx) => {
        const [profile] = await tx`
          insert into candidate_profiles (merchant_id, email, name) values (${merchant.merchantId}, ${user.email}, ${user.name})
          on conflict (merchant_id, email_key) do update set name = excluded.name returning id`;
        const [registration] = await tx`
          insert into profile_interviews (merchant_id, profile_id, interview_id, is_test, credit_spent)
          values (${merchant.merchantId}, ${profile.id}, ${merchant.interviewId}, false, true) returning id`;
        await tx`update merchants set interview_credits = interview_credits - 1 where id = ${merchant.merchantId}`;
        await tx`insert into interview_tokens (profile_interview_id, issued_at, expires_at)
          values (${registration.id}, now(), now() + interval '30 days')`;
      });
    }
    const baselineMs = round(performance.now() - baselineStarted);

    // The API server stops first, so the dispatcher bench has the machine to itself.
    server.kill("SIGTERM");
    await server.status;
    const dispatcher = await benchDispatcher({ databaseUrl: db.url, messages: quick ? 500 : 2000 });
    const webhooks = await benchWebhooks({ databaseUrl: db.url, deliveries: quick ? 500 : 2000 });

    const figures = {
      date: new Date().toISOString(),
      machine:
        `${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores, Deno ${Deno.version.deno}`,
      db_pool_size: Number(args.values["db-pool"]),
      batches,
      api_memory_10_batches_of_1000: memory,
      credentials_single_user_p50_ms: credentials,
      api_key_vs_jwt: Math.round(credentials.api_key / credentials.jwt * 100) / 100,
      mcp_vs_http: Math.round(credentials.mcp_api_key / credentials.api_key * 100) / 100,
      idempotency_key_single_user_p50_ms: { none: credentials.jwt, ...idempotency },
      idempotency_key_vs_none: Math.round(idempotency.first / credentials.jwt * 100) / 100,
      concurrency,
      hot_row_reference: hotRowReference,
      baseline_per_row_1000_ms: baselineMs,
      batch_1000_vs_per_row: round(baselineMs / batches["1000"].p50_ms),
      email_dispatcher: dispatcher,
      webhook_dispatcher: webhooks,
    };

    console.log(
      `register-users over HTTP (fsync on; the API pools ${figures.db_pool_size} database connections)`,
    );
    for (const [size, f] of Object.entries(batches)) {
      console.log(
        `  batch of ${
          size.padStart(4)
        } users: p50 ${f.p50_ms} ms, p95 ${f.p95_ms} ms (${f.requests} requests)`,
      );
    }
    console.log(
      `  API peak RSS serving ${memory.concurrent} batches of 1,000 users at once: ${memory.peak_rss_mb} MB ` +
        `(${memory.rss_before_mb} MB before; ${memory.rounds} rounds, p50 ${memory.p50_ms} ms)`,
    );
    console.log(
      `  single user by credential, p50: user JWT ${credentials.jwt} ms, API key ${credentials.api_key} ms ` +
        `(${figures.api_key_vs_jwt}x the JWT's), service key ${credentials.service_key} ms`,
    );
    console.log(
      `  the same through the MCP server (tools/call, API key), p50: ${credentials.mcp_api_key} ms ` +
        `(${figures.mcp_vs_http}x the HTTP endpoint's)`,
    );
    console.log(
      `  single user with an Idempotency-Key, p50: first ${idempotency.first} ms ` +
        `(${figures.idempotency_key_vs_none}x without a key), replay ${idempotency.replay} ms`,
    );
    for (const [connections, f] of Object.entries(concurrency)) {
      const ref = hotRowReference[connections];
      console.log(
        `  single-user, ${connections} connections: ${f.rps} req/s, p50 ${f.p50_ms} ms, p99 ${f.p99_ms} ms ` +
          `(${f.vs_reference}x the hot-row reference's ${ref.rps} req/s, p99 ${ref.p99_ms} ms)`,
      );
      for (const [name, run] of [["API", f], ["reference", ref]] as const) {
        const cpu = run.cpu_ms_per_request;
        console.log(
          `    CPU per request, ${name}: load generator ${cpu.load_generator} ms, server ${cpu.server} ms, ` +
            `PostgreSQL ${cpu.postgres} ms (all cores ${run.cpu_busy_percent}% busy)`,
        );
      }
    }
    console.log(`  per-row baseline, 1,000 users one transaction each: ${baselineMs} ms`);
    console.log(`  1,000-user batch vs per-row baseline: ${figures.batch_1000_vs_per_row}x faster`);
    console.log("email dispatcher into a loopback SMTP server (fsync on)");
    for (const run of dispatcher) {
      console.log(
        `  ${run.dispatchers} dispatcher(s) x ${run.concurrency} connections: ${run.messages_per_second} messages/s ` +
          `(${run.messages} messages)`,
      );
    }
    console.log("webhook dispatcher into a loopback receiver (fsync on)");
    for (const run of webhooks) {
      console.log(
        `  ${run.dispatchers} dispatcher(s) x ${run.concurrency} requests: ${run.deliveries_per_second} deliveries/s ` +
          `(${run.deliveries} deliveries)`,
      );
    }
    if (args.values.json) console.log(JSON.stringify(figures));
  } finally {
    await sql.end({ timeout: 5 });
    try {
      server.kill("SIGTERM");
    } catch { /* already stopped */ }
    await server.status;
    await db.stop();
    await Deno.remove(tempDir, { recursive: true }).catch(() => {});
  }
}

await main();
