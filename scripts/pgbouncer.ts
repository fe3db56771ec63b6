/**
 * PgBouncer in transaction mode in front of a PostgreSQL, for the tests' pooler pass (scripts/test.ts): what
 * hosted Supabase's transaction pooler (Supavisor, port 6543) does to the functions' connections, on this
 * machine. Debian's `pgbouncer` (`apt-get install pgbouncer`; `bash .ci/run` installs it when missing) runs with
 * a config file of its own in a temporary directory, on a free loopback port, as an unprivileged account
 * (`postgres` when we are root: PgBouncer refuses to run as root), and stops with the process that started it.
 */
import { join } from "node:path";
import { freePort, serverAccount, startWatchdog } from "./local_db.ts";

export interface PgBouncer {
  /** The pooler's URL, marked `pgbouncer=true` so that loadConfig turns prepared statements off. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const CANDIDATES = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"];

/** The pgbouncer binary, or null when it is not installed. */
export function findPgBouncer(): string | null {
  return CANDIDATES.find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  }) ?? null;
}

function quote(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/** Starts PgBouncer in front of `databaseUrl` (its user, password and database pass through as they are). */
export async function startPgBouncer(
  databaseUrl: string,
  options: { poolSize?: number } = {},
): Promise<PgBouncer> {
  const binary = findPgBouncer();
  if (!binary) throw new Error("pgbouncer is not installed (apt-get install pgbouncer)");
  const upstream = new URL(databaseUrl);
  const user = decodeURIComponent(upstream.username);
  const password = decodeURIComponent(upstream.password);
  const database = upstream.pathname.slice(1) || "postgres";
  const port = freePort();
  const account = await serverAccount();
  const dir = await Deno.makeTempDir({ prefix: "jobmojito-pgbouncer-" });
  const config = join(dir, "pgbouncer.ini");
  await Deno.writeTextFile(join(dir, "userlist.txt"), `${quote(user)} ${quote(password)}\n`);
  await Deno.writeTextFile(
    config,
    [
      "[databases]",
      `${database} = host=${upstream.hostname.replace(/^\[|\]$/g, "")} port=${upstream.port || 5432} ` +
      `dbname=${database}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      // TCP only, no socket file to collide with another PgBouncer.
      "unix_socket_dir =",
      "pool_mode = transaction",
      "auth_type = scram-sha-256",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "max_client_conn = 2000",
      `default_pool_size = ${options.poolSize ?? 40}`,
      // postgres.js sends these at connect; a transaction pooler cannot keep session settings anyway.
      "ignore_startup_parameters = extra_float_digits,options",
      "server_reset_query =",
      "log_connections = 0",
      "log_disconnections = 0",
      "",
    ].join("\n"),
  );
  if (account.uid !== undefined) {
    for (const path of [dir, config, join(dir, "userlist.txt")]) {
      await Deno.chown(path, account.uid, account.gid!);
    }
  }
  const child = new Deno.Command(binary, {
    args: [config],
    ...account,
    cwd: "/",
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output: string[] = [];
  const reading = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output.push(chunk);
  }));
  const onUnload = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", onUnload);
  // As for the database: gone within a second if this process dies without stopping it.
  const watchdog = startWatchdog(child.pid);
  let exited = false;
  const status = child.status.finally(() => exited = true);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      globalThis.removeEventListener("unload", onUnload);
      // SIGTERM drops the clients at once (SIGINT would wait for them).
      onUnload();
      await status;
      watchdog.stop();
      await reading;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`pgbouncer exited at startup:\n${output.join("")}`);
    }
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not listen on ${port} within 10 s:\n${output.join("")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  url.searchParams.set("pgbouncer", "true");
  return { url: url.toString(), port, stop };
}
