/**
 * `deno task soak [--seconds=30] [--clients=10] [--faults] [--json]`: the mixed-load soak.
 *
 * Over real HTTP, against an embedded PostgreSQL of its own (so that it can freeze and restart it), with two
 * email dispatchers delivering into a loopback SMTP catcher, `clients` concurrent clients for `seconds`:
 * registrations (links and invitations, at two merchants, with the service key, an owner's JWT or the
 * merchant's API key), registrations through the MCP server (the SDK's client, Acme's API key as a bearer),
 * micro1's invite (API key in `x-api-key`), invite-users (a team member and a
 * candidate; every other request names a merchant that does not exist, so its transaction fails),
 * redemptions of links handed out and completions of redeemed interviews, cancellations of unredeemed
 * registrations, and registrations sent with an `Idempotency-Key` the way a retrying client sends them
 * (twice at once, and again after each 503).
 * With `--faults`, the database is frozen (SIGSTOP) for a while and then restarted mid-load.
 *
 * Then the invariants, against the database and the catcher (docs/decisions.md, "Reliability"):
 * every row answered ok exists, its link redeems exactly once and it spent one credit; every row answered
 * with an error wrote nothing; credits balance; no message is delivered twice and every sent one was
 * delivered; every webhook event of a committed change (a loopback receiver subscribed to every type for both
 * merchants, two webhook workers) delivered exactly once, and none of a change that rolled back; no session
 * sits idle in a transaction; no 500, and 503s (with Retry-After) only while the
 * database was away; every request answered within its deadline; service back soon after the database;
 * every answer to one Idempotency-Key the same, and its registration with one link and one invitation; a
 * cancelled registration holds no credit and its link answers 410.
 *
 * Exits 1 when an invariant is broken. tests/soak_test.ts runs a short version in `deno task test`.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import postgres from "postgres";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import {
  loadConfig,
  LOCAL_ENV,
  LOCAL_JWT_SECRET,
  LOCAL_SECRET_KEY,
} from "../supabase/functions/_shared/config.ts";
import { DEADLINE_GRACE_MS, deadlineExceeded } from "../supabase/functions/_shared/db.ts";
import { CONNECTION_LOST_MESSAGE } from "../supabase/functions/_shared/db_errors.ts";
import { LOCAL_ACME_API_KEY } from "../supabase/functions/_shared/api_keys/key.ts";
import { createSmtpTransport } from "../supabase/functions/_shared/email/transport.ts";
import { startEmailWorker } from "../supabase/functions/_shared/email/worker.ts";
import { startWebhookWorker } from "../supabase/functions/_shared/webhooks/worker.ts";
import { WEBHOOK_EVENT_TYPES } from "../supabase/functions/_shared/webhook_endpoints/schemas.ts";
import { createRuntime } from "../supabase/functions/_shared/runtime.ts";
import { serveGateway } from "./gateway.ts";
import { applyMigrations, applySeed, type LocalPostgres, startLocalPostgres } from "./local_db.ts";
import { startMailCatcher } from "./mail_catcher.ts";
import { signUserToken } from "./user_token.ts";

const ACME = {
  merchant: "a0000000-0000-4000-8000-000000000001",
  interview: "c0000000-0000-4000-8000-000000000001",
};
const ACME_OWNER = "b0000000-0000-4000-8000-000000000002";
const GLOBEX = {
  merchant: "a0000000-0000-4000-8000-000000000003",
  interview: "c0000000-0000-4000-8000-000000000007",
};
const GLOBEX_OWNER = "b0000000-0000-4000-8000-000000000007";
/** How long after a fault an unknown outcome is still put down to it (see `explained`). */
const FAULT_AFTERMATH_MS = 3_000;

export interface SoakOptions {
  seconds: number;
  clients: number;
  /** Freeze the database (SIGSTOP) for `freezeSeconds`, later restart it, both mid-load. */
  faults: boolean;
  freezeSeconds?: number;
  /** How long the database stays down when it is restarted. */
  restartDownSeconds?: number;
  /** REQUEST_TIMEOUT_MS for the API under test (short, so that a frozen database costs little time). */
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  /** Answers by operation and status, e.g. {register: {"200": 812, "503": 4}}. */
  answers: Record<string, Record<string, number>>;
  okRegistrations: number;
  /** Registrations made by requests with an Idempotency-Key (also counted in okRegistrations). */
  keyedRegistrations: number;
  /**
   * Requests answered with a 503 that says the outcome is unknown, whose statement did commit: the
   * database frozen between a statement's deadline check and its commit, or a connection lost after its
   * statement was sent (docs/decisions.md, "Reliability"). Not counted as violations; any other error
   * answer with a write is one.
   */
  appliedDespite503: number;
  redeemed: number;
  completed: number;
  emailsDelivered: number;
  /** Webhook events received by the loopback receiver (each counted once). */
  webhooksDelivered: number;
  faults: { kind: "freeze" | "restart"; startedMs: number; endedMs: number; firstOkAfterMs: number | null }[];
  maxLatencyMs: number;
  violations: string[];
}

interface Registration {
  email: string;
  merchant: string;
  /** Null where the API does not say it (micro1's invite). */
  profileInterviewId: string | null;
  url: string | null;
  redeemed: boolean;
  /** A redemption answered 503: whether it was applied is for the final check to find out. */
  redeemAnswered503: Answer | null;
  /** Cancelled (POST registrations/<id>/cancel answered 200), or a cancel answered 503 (outcome unknown). */
  cancelled?: true;
  cancelAnswered503?: Answer;
  completed: boolean;
}

interface Answer {
  op: string;
  status: number;
  startedMs: number;
  endedMs: number;
  retryAfter: string | null;
  /** The error of a 503, which says whether the outcome is known. */
  error: string | null;
}

/** The postmaster and every process it forked: freezing only the postmaster would leave sessions running. */
function clusterPids(postmasterPid: number): number[] {
  const pids = [postmasterPid];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === postmasterPid) pids.push(Number(entry.name));
    } catch { /* gone meanwhile */ }
  }
  return pids;
}

function signalAll(pids: number[], signal: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, signal);
    } catch { /* gone meanwhile */ }
  }
}

const DEADLINE_EXCEEDED = deadlineExceeded().message;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const say = options.log ?? (() => {});
  const requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
  const freezeMs = (options.freezeSeconds ?? 3) * 1000;
  const restartDownMs = (options.restartDownSeconds ?? 2) * 1000;
  // Longest an answer may take: the deadline, its grace, and time to send and parse the reply.
  const answerBoundMs = requestTimeoutMs + DEADLINE_GRACE_MS + 2_000;
  const violations: string[] = [];
  const violate = (message: string) => {
    if (violations.length < 50) violations.push(message);
  };

  const dataDir = join(await Deno.makeTempDir({ prefix: "jobmojito-soak-" }), "data");
  let pg: LocalPostgres = await startLocalPostgres({ dataDir, port: 0, persistent: true, fast: true });
  const port = pg.port;
  const check = postgres(pg.url, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: "soak-check" },
  });
  const catcher = await startMailCatcher();
  const config = {
    ...loadConfig({ ...Deno.env.toObject(), ...LOCAL_ENV, DATABASE_URL: pg.url, SUPABASE_DB_URL: pg.url }),
    requestTimeoutMs,
  };
  // Short leases and retries, so that what a fault leaves claimed or failed is sent again within the drain.
  config.email = {
    ...config.email,
    smtpUrl: catcher.smtpUrl,
    retryBaseSeconds: 1,
    retryMaxSeconds: 2,
    sendTimeoutMs: 2_000,
    leaseSeconds: 6,
  };
  // Webhooks: quick retries and short leases too, a receiver on loopback (local mode allows it).
  config.webhooks = {
    ...config.webhooks,
    retryBaseSeconds: 1,
    retryMaxSeconds: 2,
    sendTimeoutMs: 2_000,
    leaseSeconds: 6,
    pollIntervalMs: 200,
  };
  const webhookCopies = new Map<string, number>();
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    const id = req.headers.get("webhook-id") ?? "";
    webhookCopies.set(id, (webhookCopies.get(id) ?? 0) + 1);
    return new Response(null, { status: 204 });
  });
  const runtime = createRuntime(config);
  // Two dispatchers (email and webhooks each), each with a pool of its own, as `deno task start`'s workers
  // and a second dispatcher process have: none shares the requests' pool (db.ts, rule 5).
  const workerRuntimes = [createRuntime(config), createRuntime(config)];
  const transports = [createSmtpTransport(config.email), createSmtpTransport(config.email)];
  const stopping: (() => Promise<void>)[] = [];
  try {
    await applyMigrations(pg.url);
    await applySeed(pg.url);
    const gateway = serveGateway({ runtime, port: 0, hostname: "127.0.0.1" });
    stopping.push(() => gateway.shutdown());
    for (const [i, r] of workerRuntimes.entries()) {
      const worker = await startEmailWorker(r, { transport: transports[i] });
      stopping.push(() => worker.stop());
      const webhooks = await startWebhookWorker(r);
      stopping.push(() => webhooks.stop());
    }
    for (const merchant of [ACME.merchant, GLOBEX.merchant]) {
      const secret = `whsec_${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(24))))}`;
      await check`insert into webhook_endpoints (merchant_id, url, event_types, secret)
        values (${merchant}, ${`http://127.0.0.1:${receiver.addr.port}/hooks`}, ${[
        ...WEBHOOK_EVENT_TYPES,
      ]}, ${secret})`;
    }

    const credentials = {
      service: LOCAL_SECRET_KEY,
      acmeApiKey: LOCAL_ACME_API_KEY,
      [ACME.merchant]: await signUserToken(LOCAL_JWT_SECRET, ACME_OWNER, { expiresIn: 3600 }),
      [GLOBEX.merchant]: await signUserToken(LOCAL_JWT_SECRET, GLOBEX_OWNER, { expiresIn: 3600 }),
    };
    const creditsBefore = new Map(
      (await check`select id, interview_credits from merchants where id in ${
        check([ACME.merchant, GLOBEX.merchant])
      }`)
        .map((row) => [row.id as string, row.interview_credits as number]),
    );

    const runId = crypto.randomUUID().slice(0, 8);
    let serial = 0;
    const email = (label: string) => `soak-${runId}-${label}-${++serial}@example.com`;
    const started = performance.now();
    const now = () => performance.now() - started;
    const answers: Answer[] = [];
    const registrations: Registration[] = [];
    /** Emails of rows answered with an error, with the answer. */
    const refused = new Map<string, Answer>();
    const teamInvited: string[] = [];
    let clientTimeouts = 0;

    const call = async (
      op: string,
      fn: string,
      body: unknown,
      token?: string,
      headers: Record<string, string> = {},
    ) => {
      const startedMs = now();
      let status = 0;
      let reply: unknown = null;
      let retryAfter: string | null = null;
      let error: string | null = null;
      try {
        const res = await fetch(`${gateway.functionsUrl}/${fn}`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...headers,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(answerBoundMs),
        });
        status = res.status;
        retryAfter = res.headers.get("retry-after");
        reply = await res.json();
        // micro1's invite answers in its own envelope, with the same words under `message`.
        if (status === 503) {
          error = (reply as { error?: string; message?: string }).error ??
            (reply as { message?: string }).message ?? null;
        }
      } catch (err) {
        if ((err as Error).name === "TimeoutError") clientTimeouts++;
        else violate(`${op}: ${(err as Error).message}`);
      }
      const answer = { op, status, startedMs, endedMs: now(), retryAfter, error };
      answers.push(answer);
      return { status, reply, answer };
    };

    // One MCP client for every soak client: the server is stateless, each call is a POST of its own. Listing
    // the tools first makes the client check every answer against the tool's output schema.
    const mcpClient = new Client({ name: "soak", version: "1.0.0" });
    await mcpClient.connect(
      new StreamableHTTPClientTransport(new URL(`${gateway.functionsUrl}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${credentials.acmeApiKey}` } },
      }),
    );
    stopping.push(() => mcpClient.close());
    await mcpClient.listTools();
    /** A tool call, its outcome read as `call` reads an HTTP answer: a tool error carries the status. */
    const callTool = async (op: string, name: string, args: Record<string, unknown>) => {
      const startedMs = now();
      let status = 0;
      let reply: unknown = null;
      let retryAfter: string | null = null;
      let error: string | null = null;
      try {
        const result = await mcpClient.callTool({ name, arguments: args }, undefined, {
          timeout: answerBoundMs,
        }) as CallToolResult;
        if (result.isError) {
          const body = JSON.parse((result.content[0] as { text: string }).text);
          status = body.status;
          retryAfter = body.retry_after_seconds === undefined ? null : String(body.retry_after_seconds);
          if (status === 503) error = body.error;
        } else {
          status = 200;
          reply = result.structuredContent;
        }
      } catch (err) {
        if (err instanceof McpError && (err as McpError).code === ErrorCode.RequestTimeout) clientTimeouts++;
        else violate(`${op}: ${(err as Error).message}`);
      }
      const answer = { op, status, startedMs, endedMs: now(), retryAfter, error };
      answers.push(answer);
      return { status, reply, answer };
    };

    /** A registration answered: kept for the checks when its row is ok, else among the refused. */
    const recordRegistration = (
      address: string,
      merchant: string,
      row: Record<string, unknown> | null,
      answer: Answer,
    ): void => {
      if (row?.result !== "ok") {
        refused.set(address, answer);
        return;
      }
      registrations.push({
        email: address,
        merchant,
        profileInterviewId: row.profile_interview_id as string,
        url: row.interview_url as string,
        redeemed: false,
        redeemAnswered503: null,
        completed: false,
      });
    };

    const register = async (): Promise<void> => {
      const [at, type] = [Math.random() < 0.8 ? ACME : GLOBEX, Math.random() < 0.7 ? "url" : "invitation"];
      const address = email(type);
      // The service key, the merchant owner's JWT, or (at Acme) the merchant's API key.
      const choice = Math.random();
      const token = choice < 0.4
        ? credentials.service
        : choice < 0.7 || at !== ACME
        ? credentials[at.merchant]
        : credentials.acmeApiKey;
      const { status, reply, answer } = await call("register", "job-interview-register-users", {
        interview_id: at.interview,
        merchant_id: at.merchant,
        type,
        users: [{ email: address, name: "Soak Candidate" }],
      }, token);
      recordRegistration(
        address,
        at.merchant,
        status === 200 ? (reply as Record<string, unknown>[])[0] : null,
        answer,
      );
    };

    // The same registration as an AI assistant makes it, through the MCP server with Acme's API key.
    const mcp = async (): Promise<void> => {
      const address = email("mcp");
      const { status, reply, answer } = await callTool("mcp", "register_users_for_interview", {
        interview_id: ACME.interview,
        type: Math.random() < 0.7 ? "url" : "invitation",
        users: [{ email: address, name: "Soak MCP" }],
      });
      recordRegistration(
        address,
        ACME.merchant,
        status === 200 ? (reply as { users: Record<string, unknown>[] }).users[0] : null,
        answer,
      );
    };

    let invites = 0;
    const invite = async (): Promise<void> => {
      // Every other request names a merchant that does not exist: the whole transaction fails.
      const merchant = invites++ % 2 === 0 ? ACME.merchant : crypto.randomUUID();
      const [member, candidate] = [email("team"), email("invited")];
      const { status, reply, answer } = await call("invite", "invite-users", {
        merchant_id: merchant,
        users: [
          { email: member, type: "user" },
          { email: candidate, type: "candidate", interview_id: ACME.interview },
        ],
      }, credentials.service);
      const rows = status === 200 ? reply as Record<string, unknown>[] : [];
      const [memberRow, candidateRow] = rows;
      if (memberRow && !String(memberRow.result).startsWith("Error")) teamInvited.push(member);
      else refused.set(member, answer);
      if (candidateRow?.result === "Invited") {
        registrations.push({
          email: candidate,
          merchant: ACME.merchant,
          profileInterviewId: candidateRow.profile_interview_id as string,
          url: null,
          redeemed: false,
          redeemAnswered503: null,
          completed: false,
        });
      } else refused.set(candidate, answer);
    };

    // micro1's drop-in, with Acme's API key in micro1's header: the same registration underneath.
    const micro1 = async (): Promise<void> => {
      const address = email("micro1");
      const { status, reply, answer } = await call(
        "micro1",
        "interview/invite",
        {
          interview_id: ACME.interview,
          candidates: [{ name: "Soak Micro", email: address }],
        },
        undefined,
        { "x-api-key": credentials.acmeApiKey },
      );
      const invitation = status === 200
        ? (reply as { data: { invitations: { invite_url: string }[] } }).data.invitations[0]
        : null;
      if (!invitation) {
        refused.set(address, answer);
        return;
      }
      registrations.push({
        email: address,
        merchant: ACME.merchant,
        profileInterviewId: null,
        url: invitation.invite_url,
        redeemed: false,
        redeemAnswered503: null,
        completed: false,
      });
    };

    // A client that retries with an Idempotency-Key: the same request twice at once, and again after a
    // 503, up to four times. However the attempts end, the request runs once: every 200 is the same
    // answer, and the registration has one link and one invitation (checked below).
    const keyed: { email: string; key: string }[] = [];
    const idempotent = async (): Promise<void> => {
      const address = email("keyed");
      const key = crypto.randomUUID();
      const send = () =>
        call(
          "idempotent",
          "job-interview-register-users",
          {
            interview_id: ACME.interview,
            merchant_id: ACME.merchant,
            type: "invitation",
            users: [{ email: address, name: "Soak Keyed" }],
          },
          credentials.service,
          { "Idempotency-Key": key },
        );
      const attempts = await Promise.all([send(), send()]);
      while (attempts.length < 4 && attempts.every((a) => a.status === 503)) attempts.push(await send());
      const answered = new Set(attempts.filter((a) => a.status === 200).map((a) => JSON.stringify(a.reply)));
      if (answered.size > 1) violate(`Idempotency-Key ${key} was answered ${answered.size} different ways`);
      const ok = attempts.find((a) => a.status === 200);
      const row = ok ? (ok.reply as Record<string, unknown>[])[0] : null;
      if (row?.result !== "ok") {
        const unknown = attempts.find((a) =>
          a.answer.error === DEADLINE_EXCEEDED || a.answer.error === CONNECTION_LOST_MESSAGE
        );
        refused.set(address, (unknown ?? attempts[attempts.length - 1]).answer);
        return;
      }
      keyed.push({ email: address, key });
      registrations.push({
        email: address,
        merchant: ACME.merchant,
        profileInterviewId: row.profile_interview_id as string,
        url: row.interview_url as string,
        redeemed: false,
        redeemAnswered503: null,
        completed: false,
      });
    };

    const pick = (match: (r: Registration) => boolean): Registration | undefined => {
      const candidates = registrations.filter(match);
      return candidates[Math.floor(Math.random() * candidates.length)];
    };

    const busy = new Set<Registration>();
    const redeem = async (): Promise<void> => {
      const registration = pick((r) =>
        r.url !== null && !r.redeemed && !r.redeemAnswered503 && !r.cancelled && !r.cancelAnswered503 &&
        !busy.has(r)
      );
      if (!registration) return register();
      busy.add(registration);
      const token = new URL(registration.url!).searchParams.get("interview_token");
      const { status, answer } = await call("redeem", "interview-token-redeem", { interview_token: token });
      if (status === 200) registration.redeemed = true;
      else if (status === 503) registration.redeemAnswered503 = answer;
      else violate(`redeeming a fresh link of ${registration.email} answered ${status}`);
      busy.delete(registration);
    };

    const complete = async (): Promise<void> => {
      const registration = pick((r) =>
        r.redeemed && r.profileInterviewId !== null && !r.completed && !busy.has(r)
      );
      if (!registration) return register();
      busy.add(registration);
      const { status } = await call("complete", "interview-complete", {
        profile_interview_id: registration.profileInterviewId,
      }, credentials.service);
      if (status === 200) registration.completed = true;
      else if (status !== 503) violate(`completing ${registration.email} answered ${status}`);
      busy.delete(registration);
    };

    // A merchant cancels a registration whose link was not redeemed: the credit must come back (checked by
    // the credits balance below, which counts the registrations that still hold one), the link must then
    // answer 410, and a redemption racing it elsewhere never sees a half-cancelled registration.
    const cancel = async (): Promise<void> => {
      const registration = pick((r) =>
        r.profileInterviewId !== null && !r.redeemed && !r.redeemAnswered503 && !r.cancelled &&
        !r.cancelAnswered503 && !busy.has(r)
      );
      if (!registration) return register();
      busy.add(registration);
      const { status, reply, answer } = await call(
        "cancel",
        `registrations/${registration.profileInterviewId}/cancel?merchant_id=${registration.merchant}`,
        {},
        credentials.service,
      );
      if (status === 200) {
        registration.cancelled = true;
        if ((reply as { credit_returned: boolean }).credit_returned !== true) {
          violate(`cancelling the unredeemed registration of ${registration.email} returned no credit`);
        }
      } else if (status === 503) registration.cancelAnswered503 = answer;
      else violate(`cancelling ${registration.email} answered ${status}`);
      busy.delete(registration);
    };

    // Sessions idle inside a transaction for over a second: a transaction left open on a pooled connection.
    const idleSampler = (async () => {
      while (now() < options.seconds * 1000) {
        await sleep(250);
        const stuck = await check`select pid, now() - state_change as idle from pg_stat_activity
          where state like 'idle in transaction%' and application_name = 'jobmojito-functions'
            and now() - state_change > interval '1 second'`.catch(() => []);
        for (const row of stuck) violate(`session ${row.pid} idle in a transaction for ${row.idle}`);
      }
    })();

    const faults: SoakReport["faults"] = [];
    const faulting = (async () => {
      if (!options.faults) return;
      const span = options.seconds * 1000;
      await sleep(span * 0.25);
      const frozen = clusterPids(pg.pid);
      say(`freezing the database (${frozen.length} processes) for ${freezeMs} ms`);
      const freezeStart = now();
      signalAll(frozen, "SIGSTOP");
      await sleep(freezeMs);
      signalAll(frozen, "SIGCONT");
      faults.push({ kind: "freeze", startedMs: freezeStart, endedMs: now(), firstOkAfterMs: null });
      await sleep(Math.max(0, span * 0.6 - now()));
      say("restarting the database");
      const restartStart = now();
      await pg.stop();
      // Down for a while, as a real restart or failover is: clients' reconnect attempts fail meanwhile, and
      // their backoff must not outlast the outage by much.
      await sleep(restartDownMs);
      pg = await startLocalPostgres({ dataDir, port, persistent: true, fast: true });
      faults.push({ kind: "restart", startedMs: restartStart, endedMs: now(), firstOkAfterMs: null });
    })();

    const ops = [
      register,
      register,
      register,
      mcp,
      micro1,
      invite,
      invite,
      redeem,
      redeem,
      complete,
      idempotent,
      cancel,
    ];
    await Promise.all(Array.from({ length: options.clients }, async () => {
      while (now() < options.seconds * 1000) await ops[Math.floor(Math.random() * ops.length)]();
    }));
    await Promise.all([faulting, idleSampler]);
    say(`load done after ${Math.round(now())} ms: ${answers.length} requests`);

    // Invariants over what the clients were told.
    const inFault = (a: Answer) =>
      faults.some((f) => a.endedMs >= f.startedMs && a.startedMs <= f.endedMs + 2_000);
    for (const a of answers) {
      if (a.status >= 500 && a.status !== 503) violate(`${a.op} answered ${a.status}`);
      if (a.status === 503 && !a.retryAfter) violate(`${a.op} answered 503 without Retry-After`);
      if (a.status === 503 && !inFault(a)) {
        violate(`${a.op} answered 503 at ${Math.round(a.startedMs)} ms, with the database up`);
      }
    }
    if (clientTimeouts > 0) violate(`${clientTimeouts} requests got no answer within ${answerBoundMs} ms`);
    for (const fault of faults) {
      const firstOk = answers.filter((a) => a.status === 200 && a.startedMs >= fault.endedMs)
        .reduce((min, a) => Math.min(min, a.endedMs), Infinity);
      fault.firstOkAfterMs = Number.isFinite(firstOk) ? Math.round(firstOk - fault.endedMs) : null;
    }

    // Invariants against the database.
    const okEmails = registrations.map((r) => r.email.toLowerCase());
    // Every soak email is new, so each names one registration.
    const found = new Map(
      (await check`select pi.id, cp.email_key, pi.merchant_id, pi.credit_spent, pi.status::text
        from profile_interviews pi
        join candidate_profiles cp on cp.id = pi.profile_id
        where cp.email_key = any(${okEmails})`).map((row) => [row.email_key as string, row]),
    );
    for (const r of registrations) {
      const row = found.get(r.email);
      if (!row || (r.profileInterviewId !== null && row.id !== r.profileInterviewId)) {
        violate(`registration of ${r.email} answered ok is not in the database`);
      } else if (r.cancelled && (row.status !== "cancelled" || row.credit_spent)) {
        violate(`cancelled registration of ${r.email} is ${row.status}, credit spent: ${row.credit_spent}`);
      } else if (
        row.merchant_id !== r.merchant || (!r.cancelled && !r.cancelAnswered503 && !row.credit_spent)
      ) {
        violate(`registration of ${r.email} is at ${row.merchant_id}, credit spent: ${row.credit_spent}`);
      }
    }
    // A row answered with an error wrote nothing, except where the answer said the outcome was unknown
    // and a fault explains it: the database frozen after a statement's deadline check and before its
    // commit (it commits when it wakes, for a request already told 503), or a connection lost after its
    // statement was sent. No client can be told more truthfully than "unknown" in those two cases.
    let appliedDespite503 = 0;
    const explained = (answer: Answer) => {
      // A fault's aftermath counts: the pool reconnects up to a second after the database is back, and a
      // reply postgres.js crossed over in that reconnection is answered as a lost connection (db.ts, rule 5).
      const during = (kind: string) =>
        faults.some((f) =>
          f.kind === kind && answer.startedMs <= f.endedMs + FAULT_AFTERMATH_MS &&
          answer.endedMs >= f.startedMs
        );
      return (answer.error === DEADLINE_EXCEEDED && during("freeze")) ||
        (answer.error === CONNECTION_LOST_MESSAGE && during("restart"));
    };
    const written = await check`
      select email_key as email from candidate_profiles where email_key = any(${[...refused.keys()]})
      union all
      select lower(email) from merchant_invitations where lower(email) = any(${[...refused.keys()]})`;
    for (const { email } of written) {
      const answer = refused.get(email)!;
      if (explained(answer)) appliedDespite503++;
      else {violate(
          `${email} was answered ${answer.status} (${answer.op}: ${answer.error}) but written anyway`,
        );}
    }

    // A keyed request ran once, whatever its attempts were told: one link, one invitation.
    for (
      const row of await check`select cp.email_key as email,
          (select count(*)::int from interview_tokens t where t.profile_interview_id = pi.id) as links,
          (select count(*)::int from email_outbox o where o.profile_interview_id = pi.id and o.kind = 'invitation')
            as invitations
        from profile_interviews pi join candidate_profiles cp on cp.id = pi.profile_id
        where cp.email_key = any(${keyed.map((k) => k.email)})`
    ) {
      if (row.links !== 1 || row.invitations !== 1) {
        violate(
          `the keyed registration of ${row.email} has ${row.links} links and ${row.invitations} invitations`,
        );
      }
    }

    // Credits balance: one spent for each registration the database holds, whatever its answer said.
    for (const [merchant, before] of creditsBefore) {
      const [{ credits, registered }] = await check`select interview_credits as credits,
          (select count(*)::int from profile_interviews pi join candidate_profiles cp on cp.id = pi.profile_id
            where pi.merchant_id = m.id and pi.credit_spent and cp.email_key like ${`soak-${runId}-%`}) as registered
        from merchants m where m.id = ${merchant}`;
      if (before - credits !== registered) {
        violate(`merchant ${merchant}: ${before - credits} credits spent for ${registered} registrations`);
      }
    }

    // Every link handed out redeems exactly once, counting the redemptions under load.
    for (const r of registrations.filter((r) => r.url)) {
      const token = new URL(r.url!).searchParams.get("interview_token");
      const first = await call("final-redeem", "interview-token-redeem", { interview_token: token });
      if (r.redeemed && first.status === 200) violate(`the link of ${r.email} redeemed twice`);
      if (r.cancelled && first.status !== 410) {
        violate(`the cancelled link of ${r.email} answered ${first.status}`);
      }
      if (!r.redeemed && !r.cancelled && !r.cancelAnswered503) {
        const unknown = r.redeemAnswered503 !== null && explained(r.redeemAnswered503);
        if (unknown && first.status === 410) appliedDespite503++;
        else if (first.status !== 200) {
          violate(`the link of ${r.email} answered ${first.status} on its first use`);
        }
        const again = await call("final-redeem", "interview-token-redeem", { interview_token: token });
        if (again.status === 200) violate(`the link of ${r.email} redeemed twice`);
      }
    }

    // Emails: wait for what is due to go out, then compare the outbox with what the catcher received.
    const soakRecipients = `soak-${runId}-%`;
    const drainBy = Date.now() + 30_000;
    while (Date.now() < drainBy) {
      const [{ due }] = await check`select count(*)::int as due from email_outbox
        where to_email like ${soakRecipients} and status in ('pending', 'sending') and send_after <= now()`;
      if (due === 0) break;
      await sleep(200);
    }
    const delivered = new Map<string, number>();
    for (const message of catcher.messages()) {
      const id = message.parsed.messageId?.match(/^<([0-9a-f-]{36})@/)?.[1];
      if (id) delivered.set(id, (delivered.get(id) ?? 0) + 1);
    }
    const outbox = await check`select id, status::text, kind::text, to_email from email_outbox
      where to_email like ${soakRecipients} and (status <> 'pending' or send_after <= now())`;
    for (const row of outbox) {
      const copies = delivered.get(row.id) ?? 0;
      if (copies > 1) violate(`${row.kind} to ${row.to_email} delivered ${copies} times`);
      if (row.status === "sent" && copies === 0) {
        violate(`${row.kind} to ${row.to_email} is sent but never arrived`);
      }
      if (row.status !== "sent" && row.status !== "cancelled") {
        violate(`${row.kind} to ${row.to_email} is ${row.status} after the drain`);
      }
    }
    const outboxIds = new Set(outbox.map((row) => row.id as string));
    for (const id of delivered.keys()) {
      if (!outboxIds.has(id)) violate(`message ${id} arrived without an outbox row that says so`);
    }
    // Webhooks: every event written (so committed) is delivered once; nothing arrives that was not written.
    const webhooksDrainBy = Date.now() + 30_000;
    while (Date.now() < webhooksDrainBy) {
      const [{ due }] = await check`select count(*)::int as due from webhook_deliveries
        where status in ('pending', 'sending') and send_after <= now()`;
      if (due === 0) break;
      await sleep(200);
    }
    const events = await check`select e.id, e.type, d.status::text from webhook_events e
      join webhook_deliveries d on d.event_id = e.id
      where e.merchant_id in ${check([ACME.merchant, GLOBEX.merchant])}`;
    for (const event of events) {
      const copies = webhookCopies.get(event.id) ?? 0;
      if (copies !== 1 || event.status !== "delivered") {
        violate(`webhook ${event.type} ${event.id} is ${event.status}, received ${copies} times`);
      }
    }
    const eventIds = new Set(events.map((event) => event.id as string));
    for (const id of webhookCopies.keys()) {
      if (!eventIds.has(id)) violate(`webhook ${id} arrived without an event that says so (rolled back?)`);
    }
    const [{ missing }] = await check`select count(*)::int as missing from profile_interviews pi
      where pi.merchant_id in ${check([ACME.merchant, GLOBEX.merchant])}
        and not exists (select 1 from webhook_events e where e.type = 'registration.created'
          and e.payload ->> 'profile_interview_id' = pi.id::text)
        and pi.created_at > (select min(created_at) from webhook_endpoints)`;
    if (missing > 0) violate(`${missing} committed registrations have no registration.created event`);

    const [{ count: stuck }] = await check`select count(*)::int from pg_stat_activity
      where state like 'idle in transaction%' and application_name = 'jobmojito-functions'`;
    if (stuck > 0) violate(`${stuck} sessions idle in a transaction after the load`);

    const byOp: SoakReport["answers"] = {};
    for (const a of answers) {
      byOp[a.op] ??= {};
      byOp[a.op][a.status] = (byOp[a.op][a.status] ?? 0) + 1;
    }
    return {
      answers: byOp,
      okRegistrations: registrations.length,
      keyedRegistrations: keyed.length,
      appliedDespite503,
      redeemed: registrations.filter((r) => r.redeemed).length,
      completed: registrations.filter((r) => r.completed).length,
      emailsDelivered: [...delivered.values()].reduce((sum, n) => sum + n, 0),
      webhooksDelivered: webhookCopies.size,
      faults,
      maxLatencyMs: Math.round(Math.max(...answers.map((a) => a.endedMs - a.startedMs))),
      violations,
    };
  } finally {
    for (const stop of stopping.reverse()) await stop().catch(() => {});
    for (const transport of transports) transport.close();
    await Promise.all([
      runtime.db.close(1),
      ...workerRuntimes.map((r) => r.db.close(1)),
      check.end({ timeout: 1 }),
    ]);
    await catcher.close();
    await receiver.shutdown();
    await pg.stop();
    await Deno.remove(join(dataDir, ".."), { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      seconds: { type: "string", default: "30" },
      clients: { type: "string", default: "10" },
      faults: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const report = await runSoak({
    seconds: Number(values.seconds),
    clients: Number(values.clients),
    faults: values.faults,
    log: (line) => console.error(line),
  });
  console.log(values.json ? JSON.stringify(report) : JSON.stringify(report, null, 2));
  Deno.exit(report.violations.length === 0 ? 0 : 1);
}
