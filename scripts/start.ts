/**
 * `deno task start`: the whole API on this machine.
 *
 *   1. the database: an embedded PostgreSQL keeping its data in `.local/pgdata`
 *      (port 54322), or the external one named by SUPABASE_DB_URL / DATABASE_URL;
 *   2. migrations (Supabase CLI `migration up`) and `supabase/seed.sql`;
 *   3. every function at http://127.0.0.1:54321/functions/v1/<name>, plus the
 *      BACKGROUND_WORKERS below (what one is: scripts/background_workers.ts): the
 *      email dispatcher and mail catcher (page on :54324, SMTP on :54325), and the
 *      webhook dispatcher;
 *   4. the local stand-in for the interview app (scripts/interview_app.ts) at
 *      INTERVIEW_BASE_URL, http://localhost:3000, unless the environment names one.
 *
 * Ctrl-C (SIGINT), SIGTERM or SIGHUP stops the workers, the server, the pool and
 * then the database, and exits 0. A second Ctrl-C exits at once (the database
 * is still told to stop).
 *
 * Options: --port=54321 --db-port=54322 --mail-port=54324 --smtp-port=54325
 * --interview-port=3000 --data-dir=.local/pgdata --host=127.0.0.1. A port given as an
 * option must be free; a default one that is taken (another stack on this machine)
 * is replaced by a free one, except the API's and the database's, whose URLs are
 * the ones clients are configured with.
 */
import { parseArgs } from "node:util";
import {
  type Config,
  loadConfig,
  LOCAL_ANON_JWT,
  LOCAL_API_PORT,
  LOCAL_ENV,
  LOCAL_INTERVIEW_TOKEN_SECRET,
  LOCAL_JWT_SECRET,
  LOCAL_SECRET_KEY,
  LOCAL_SERVICE_ROLE_JWT,
} from "../supabase/functions/_shared/config.ts";
import { LOCAL_ACME_API_KEY } from "../supabase/functions/_shared/api_keys/key.ts";
import { createRuntime, type Runtime } from "../supabase/functions/_shared/runtime.ts";
import type { BackgroundWorker, BackgroundWorkerStarter } from "./background_workers.ts";
import { startLocalEmail } from "./email_worker.ts";
import { startLocalWebhooks } from "./webhook_worker.ts";
import { type Gateway, serveGateway } from "./gateway.ts";
import { type InterviewApp, serveInterviewApp } from "./interview_app.ts";
import { signUserToken } from "./user_token.ts";
import {
  DEFAULT_DATA_DIR,
  DEFAULT_DB_PORT,
  freePort,
  prepareDatabase,
  type PreparedDatabase,
  shutdownSignal,
} from "./local_db.ts";
import { LOCAL_MAIL_CATCHER_PORT, LOCAL_SMTP_PORT } from "../supabase/functions/_shared/email/config.ts";

/** Started beside the gateway, in order (and stopped in reverse). */
export const BACKGROUND_WORKERS: BackgroundWorkerStarter[] = [
  // The email dispatcher, and the local mail catcher when no SMTP_URL is set.
  startLocalEmail,
  // The webhook dispatcher (loopback receivers allowed: local mode).
  startLocalWebhooks,
];

/** The seeded merchant owner (Olivia Owner, Acme Recruiting) and Acme's active interview. */
export const DEMO_USER_ID = "b0000000-0000-4000-8000-000000000002";
export const DEMO_MERCHANT_ID = "a0000000-0000-4000-8000-000000000001";
export const DEMO_INTERVIEW_ID = "c0000000-0000-4000-8000-000000000001";
/** Where local mode's INTERVIEW_BASE_URL points (config.ts), and the interview app stand-in listens. */
export const LOCAL_INTERVIEW_PORT = 3000;

/** start.ts's options for every local port but the API's and the database's: free ones (tests, the bench). */
export const FREE_LOCAL_PORTS = ["--mail-port", "0", "--smtp-port", "0", "--interview-port", "0"];

/** A signal this long after the first forces the exit; sooner, it is the same Ctrl-C delivered twice. */
const FORCE_AFTER_MS = 1000;

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

async function banner(
  config: Config,
  gateway: Gateway,
  db: PreparedDatabase,
  mailUrl: string | null,
  interviewApp: InterviewApp | null,
): Promise<string> {
  const local = (value: string | null, localValue: string) =>
    value === localValue ? value : "(set from the environment; not shown)";
  const jwtIsLocal = config.jwtSecret === LOCAL_JWT_SECRET;
  const secretKey = config.secretKeys.includes(LOCAL_SECRET_KEY) ? LOCAL_SECRET_KEY : null;
  const lines = [
    "",
    `JobMojito registration API is up: ${gateway.baseUrl}`,
    "",
    "Functions:",
    ...gateway.functionNames.map((name) => `  ${gateway.functionsUrl}/${name}`),
    `API reference (interactive): ${gateway.functionsUrl}/openapi/reference`,
    "",
    `Database: ${
      db.server ? `${db.url} (embedded, data in ${db.server.dataDir})` : "external (from the environment)"
    }`,
    `          start ${db.timings.startMs} ms, migrations ${db.timings.migrateMs} ms, seed ${db.timings.seedMs} ms`,
    ...(interviewApp
      ? [
        "",
        `Interview app (local stand-in; the interview and invitation links open it): ${config.interviewBaseUrl}`,
      ]
      : []),
    "",
    "Keys (LOCAL-ONLY published defaults: never use them anywhere real):",
    `  secret key (sb_secret_)  ${secretKey ?? "(set from the environment; not shown)"}`,
    `  service_role JWT         ${
      jwtIsLocal ? LOCAL_SERVICE_ROLE_JWT : "(JWT secret set from the environment)"
    }`,
    `  anon JWT                 ${jwtIsLocal ? LOCAL_ANON_JWT : "(JWT secret set from the environment)"}`,
    `  JWT secret (HS256)       ${local(config.jwtSecret, LOCAL_JWT_SECRET)}`,
    `  interview token secret   ${local(config.interviewTokenSecret, LOCAL_INTERVIEW_TOKEN_SECRET)}`,
    `  Acme's API key (jmk_)    ${config.local ? LOCAL_ACME_API_KEY : "(refused outside local mode)"}`,
  ];
  const body = JSON.stringify({
    interview_id: DEMO_INTERVIEW_ID,
    merchant_id: DEMO_MERCHANT_ID,
    type: "url",
    users: [{ name: "Peter Parker", email: `peter.parker+${Date.now()}@example.com`, external_id: "demo-1" }],
  });
  const url = `${gateway.functionsUrl}/job-interview-register-users`;
  const token = config.jwtSecret
    ? await signUserToken(config.jwtSecret, DEMO_USER_ID, { expiresIn: 24 * 3600 })
    : null;
  if (token) {
    lines.push(
      "",
      `Register a candidate as the seeded merchant owner (user ${DEMO_USER_ID}, token valid 24 h):`,
      `  curl -sS -X POST ${url} \\`,
      `    -H 'Authorization: Bearer ${token}' \\`,
      `    -H 'Content-Type: application/json' \\`,
      `    -d ${shellQuote(body)}`,
    );
  }
  if (secretKey) {
    lines.push(
      "",
      "The same with the service key:",
      `  curl -sS -X POST ${url} -H 'Authorization: Bearer ${secretKey}' \\`,
      `    -H 'Content-Type: application/json' -d ${shellQuote(body.replace("+", "+svc-"))}`,
    );
  }
  const credential = secretKey ?? token;
  if (credential) {
    const invitation = JSON.stringify({
      interview_id: DEMO_INTERVIEW_ID,
      merchant_id: DEMO_MERCHANT_ID,
      type: "invitation",
      users: [{ name: "Mary Jane", email: `mary.jane+${Date.now()}@example.com` }],
    });
    lines.push(
      "",
      `Register a candidate with an email invitation (sent at once; ${
        mailUrl ? `read it at ${mailUrl}` : `delivered through ${new URL(config.email.smtpUrl).host}`
      }):`,
      `  curl -sS -X POST ${url} -H 'Authorization: Bearer ${credential}' \\`,
      `    -H 'Content-Type: application/json' -d ${shellQuote(invitation)}`,
    );
  }
  if (config.local) {
    const byKey = JSON.stringify({
      interview_id: DEMO_INTERVIEW_ID,
      users: [{ name: "Miles Morales", email: `miles.morales+${Date.now()}@example.com` }],
    });
    const micro1 = JSON.stringify({
      interview_id: DEMO_INTERVIEW_ID,
      candidates: [{ name: "Gwen Stacy", email: `gwen.stacy+${Date.now()}@example.com` }],
      job_application_id: "demo-application-1",
    });
    lines.push(
      "",
      "Register a candidate with Acme's API key (no merchant_id: the key's own merchant):",
      `  curl -sS -X POST ${url} -H 'x-api-key: ${LOCAL_ACME_API_KEY}' \\`,
      `    -H 'Content-Type: application/json' -d ${shellQuote(byKey)}`,
      "",
      "Invite a candidate the way micro1's API does (POST /interview/invite; the email goes out too):",
      `  curl -sS -X POST ${gateway.functionsUrl}/interview/invite -H 'x-api-key: ${LOCAL_ACME_API_KEY}' \\`,
      `    -H 'Content-Type: application/json' -d ${shellQuote(micro1)}`,
      "",
      'Connect an MCP client (Streamable HTTP) with Acme\'s API key; README "MCP server" has client configs:',
      `  ${gateway.functionsUrl}/mcp   header  Authorization: Bearer ${LOCAL_ACME_API_KEY}`,
      `  npx @modelcontextprotocol/inspector --cli ${gateway.functionsUrl}/mcp --transport http \\`,
      `    --header 'Authorization: Bearer ${LOCAL_ACME_API_KEY}' --method tools/list`,
    );
  }
  lines.push("", "Ctrl-C stops everything.", "");
  return lines.join("\n");
}

function portOption(name: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number`);
  return port;
}

function portTaken(hostname: string, port: number): boolean {
  try {
    Deno.listen({ hostname, port }).close();
    return false;
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) return true;
    throw err;
  }
}

/**
 * The port for a local service: the option's, which must be free, or else the default, or a free one when
 * another stack on this machine holds the default.
 */
function choosePort(name: string, value: string | undefined, fallback: number, hostname: string): number {
  if (value !== undefined) {
    const port = portOption(name, value);
    // The URL is printed and put in emails before the server listens: 0 is resolved here.
    if (port === 0) return freePort();
    if (portTaken(hostname, port)) {
      throw new Error(`${hostname}:${port} is already in use; choose another with ${name}`);
    }
    return port;
  }
  if (!portTaken(hostname, fallback)) return fallback;
  const port = freePort();
  console.log(`${hostname}:${fallback} is taken: using ${port} instead (${name} chooses)`);
  return port;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: String(LOCAL_API_PORT) },
      host: { type: "string", default: "127.0.0.1" },
      "db-port": { type: "string", default: String(DEFAULT_DB_PORT) },
      "data-dir": { type: "string", default: DEFAULT_DATA_DIR },
      "mail-port": { type: "string" },
      "smtp-port": { type: "string" },
      "interview-port": { type: "string" },
    },
  });
  const port = portOption("--port", values.port);
  const dbPort = portOption("--db-port", values["db-port"]);

  // Listen from the start: a Ctrl-C during startup lets the current step finish, then unwinds.
  const signal = shutdownSignal();
  let received: Deno.Signal | null = null;
  signal.promise.then((name) => {
    received = name;
    const receivedAt = performance.now();
    // A second signal while shutting down: exit now. The database still gets SIGINT
    // (unload listener / watchdog in local_db.ts). Not the echo of the first: a terminal's Ctrl-C
    // reaches this process directly and again through `deno task`, which forwards it.
    const force = () => {
      if (performance.now() - receivedAt < FORCE_AFTER_MS) return;
      console.error("Forced exit.");
      Deno.exit(130);
    };
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, force);
  });

  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  let exitCode = 0;
  try {
    // Every port first, so that a taken one stops the start before anything runs.
    if (port !== 0 && portTaken(values.host, port)) {
      throw new Error(`${values.host}:${port} is already in use (another \`deno task start\`?); try --port`);
    }
    // The interview app stand-in serves INTERVIEW_BASE_URL unless the environment points it elsewhere.
    const interviewPort = Deno.env.get("INTERVIEW_BASE_URL")
      ? null
      : choosePort("--interview-port", values["interview-port"], LOCAL_INTERVIEW_PORT, values.host);
    // The mail catcher runs only without SMTP_URL.
    const mailPorts = Deno.env.get("SMTP_URL") ? { http: 0, smtp: 0 } : {
      http: choosePort("--mail-port", values["mail-port"], LOCAL_MAIL_CATCHER_PORT, "127.0.0.1"),
      smtp: choosePort("--smtp-port", values["smtp-port"], LOCAL_SMTP_PORT, "127.0.0.1"),
    };

    const db = await prepareDatabase({ dataDir: values["data-dir"], port: dbPort, persistent: true });
    cleanups.push({ name: "database", run: () => db.stop() });
    console.log(db.migrationOutput);

    // Local (the published local secrets fill in what is unset) unless the environment says JOBMOJITO_LOCAL=0.
    const env = {
      ...LOCAL_ENV,
      SUPABASE_URL: `http://${values.host}:${port}`,
      ...(interviewPort === null ? {} : { INTERVIEW_BASE_URL: `http://localhost:${interviewPort}` }),
      ...Deno.env.toObject(),
    };
    const config = loadConfig({ ...env, DATABASE_URL: db.url });
    const runtime: Runtime = createRuntime(config);
    cleanups.push({ name: "database pool", run: () => runtime.sql.end({ timeout: 5 }) });

    let gateway: Gateway;
    try {
      gateway = serveGateway({ runtime, port, hostname: values.host });
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
      throw new Error(`${values.host}:${port} is already in use (another \`deno task start\`?); try --port`);
    }
    cleanups.push({ name: "server", run: () => gateway.shutdown() });

    let interviewApp: InterviewApp | null = null;
    if (interviewPort !== null) {
      const serviceKey = config.secretKeys[0] ?? null;
      if (!serviceKey) throw new Error("The interview app stand-in needs a secret key (SECRET_KEYS)");
      interviewApp = serveInterviewApp({
        runtime,
        functionsUrl: gateway.functionsUrl,
        serviceKey,
        hostname: values.host,
        port: interviewPort,
      });
      cleanups.push({ name: "interview app", run: () => interviewApp!.close() });
    }

    // The workers' own pool, as a dispatcher process or function would have: their statements neither
    // share connections with requests' (db.ts, rule 5) nor queue past the requests' admission.
    const workerRuntime: Runtime = createRuntime(config);
    cleanups.push({ name: "workers' database pool", run: () => workerRuntime.sql.end({ timeout: 5 }) });
    const workersAbort = new AbortController();
    const workers: BackgroundWorker[] = [];
    cleanups.push({
      name: "background workers",
      run: async () => {
        workersAbort.abort();
        for (const worker of workers.reverse()) await worker.stop();
      },
    });
    for (const startWorker of BACKGROUND_WORKERS) {
      const worker = await startWorker({
        runtime: workerRuntime,
        signal: workersAbort.signal,
        mailPorts,
      });
      workers.push(worker);
      console.log(`Background worker started: ${worker.name}`);
    }

    if (!received) {
      const mailUrl = workers.find((worker) => worker.mailUrl)?.mailUrl ?? null;
      console.log(await banner(config, gateway, db, mailUrl, interviewApp));
      await signal.promise;
    }
    console.log(`\n${received ?? "Signal"} received, shutting down...`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    exitCode = 1;
  } finally {
    // Workers, then the server (drains in-flight requests), the pool, the database.
    const stopping = performance.now();
    for (const { name, run } of cleanups.reverse()) {
      try {
        await run();
      } catch (err) {
        console.error(`Stopping the ${name} failed:`, err);
        exitCode ||= 1;
      }
    }
    signal.dispose();
    if (exitCode === 0) console.log(`Stopped (${Math.round(performance.now() - stopping)} ms).`);
  }
  return exitCode;
}

if (import.meta.main) Deno.exit(await main());
